// Every transport, one line each: adding a target kind is a folder and a line here.
export { transport as http } from "./http/index.js";
export { transport as nats } from "./nats/index.js";
export { transport as amqp } from "./amqp/index.js";
export { transport as redisStream } from "./redis-stream/index.js";
