/**
 * Distinctive secret values for every scenario, and the scanner that greps everything the
 * product writes or serves (stdout, stderr, log files, /metrics, admin API answers, UI pages)
 * for them — as they are, URL-encoded, base64-encoded, and for `whsec_` keys the key part and
 * the decoded key text.
 */

const WEBHOOK_KEY_TEXT = "chaos-webhook-signing-key-Zq81";

export const SECRETS = {
  restToken: "SECRETrestTok3nQx81",
  fakturowniaToken: "SECRETfakturowniaTok9Lm4",
  facturascriptsToken: "SECRETfsTok3nKd8wp",
  wfirmaAccessKey: "SECRETwfAccess55rT",
  wfirmaSecretKey: "SECRETwfSecret77yU",
  wfirmaAppKey: "SECRETwfApp99iO",
  fakturoidClientId: "SECRETfoClient12aS",
  fakturoidClientSecret: "SECRETfoClientSecret34dF",
  webhookSecret: `whsec_${Buffer.from(WEBHOOK_KEY_TEXT).toString("base64")}`,
  adminToken: "SECRETadminTok3nVb1",
  targetApiToken: "SECRETtargetApiTok6Hn",
} as const;

export type SecretName = keyof typeof SECRETS;

export interface Leak {
  surface: string;
  origin: string;
  secret: string;
  form: string;
  /** A few characters around the hit, the secret itself masked. */
  context: string;
}

interface Needle {
  secret: string;
  form: string;
  text: string;
}

function needles(): Needle[] {
  const out: Needle[] = [];
  for (const [name, value] of Object.entries(SECRETS)) {
    const forms: Array<[string, string]> = [
      ["plain", value],
      ["url-encoded", encodeURIComponent(value)],
      ["base64", Buffer.from(value).toString("base64").replace(/=+$/, "")],
    ];
    if (value.startsWith("whsec_")) {
      forms.push(["key part", value.slice("whsec_".length).replace(/=+$/, "")]);
      forms.push(["decoded key", WEBHOOK_KEY_TEXT]);
    }
    for (const [form, text] of forms) if (!out.some((n) => n.text === text)) out.push({ secret: name, form, text });
  }
  return out;
}

export class LeakScanner {
  private readonly needles = needles();
  readonly leaks: Leak[] = [];
  /** Per surface: texts and bytes scanned. */
  readonly surfaces = new Map<string, { texts: number; bytes: number }>();

  /** Scans one text; returns the number of leaks found in it. */
  scan(surface: string, origin: string, text: string): number {
    const entry = this.surfaces.get(surface) ?? { texts: 0, bytes: 0 };
    entry.texts += 1;
    entry.bytes += Buffer.byteLength(text);
    this.surfaces.set(surface, entry);
    let found = 0;
    for (const needle of this.needles) {
      let at = text.indexOf(needle.text);
      while (at >= 0) {
        found += 1;
        const context = `${text.slice(Math.max(0, at - 60), at)}<${needle.secret}>${text.slice(at + needle.text.length, at + needle.text.length + 60)}`.replace(/\s+/g, " ");
        this.leaks.push({ surface, origin, secret: needle.secret, form: needle.form, context });
        at = text.indexOf(needle.text, at + needle.text.length);
      }
    }
    return found;
  }

  texts(): number {
    return [...this.surfaces.values()].reduce((sum, s) => sum + s.texts, 0);
  }

  bytes(): number {
    return [...this.surfaces.values()].reduce((sum, s) => sum + s.bytes, 0);
  }
}

/** The one scanner of a run: every suite feeds it. */
export const scanner = new LeakScanner();
