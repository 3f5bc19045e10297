// Every transport, one line each: adding a target kind is a folder and a line here.
export { transport as http } from "./http/index.js";
