import { beforeEach } from "vitest";
import { closingAfterEach } from "./closing.js";
import { startFakeRest, type FakeRest } from "./fake-rest.js";
import { startReceiver, type Receiver, type Reply } from "./receiver.js";

export interface VendorAndReceiver {
  api: FakeRest;
  receiver: Receiver;
}

/**
 * A fresh fake `rest` vendor and a fresh webhook receiver (answering `options.receiver`, 200 by
 * default) for each test of the calling file, both closed after it; `use` gets them before each
 * test: `vendorAndReceiverPerTest({}, (started) => ({ api, receiver } = started))`.
 */
export function vendorAndReceiverPerTest(options: { api?: Parameters<typeof startFakeRest>[0]; receiver?: Reply }, use: (started: VendorAndReceiver) => void): void {
  const closeLater = closingAfterEach();
  beforeEach(async () => {
    const api = closeLater(await startFakeRest(options.api));
    const receiver = closeLater(await startReceiver(options.receiver));
    use({ api, receiver });
  });
}
