import { CallOpts } from "encore.dev/api";

type Parameters<T> = T extends (...args: infer P) => unknown ? P : never;
type WithCallOpts<T extends (...args: any) => any> = (
  ...args: [...Parameters<T>, opts?: CallOpts]
) => ReturnType<T>;

import { hello as hello_handler } from "../../../../greeter/api.js";
type hello_Type = WithCallOpts<typeof hello_handler>;
declare const hello: hello_Type;
export { hello };

import { feed as feed_handler } from "../../../../greeter/api.js";
type feed_Type = WithCallOpts<typeof feed_handler>;
declare const feed: feed_Type;
export { feed };

export class Client {
  private constructor();

  readonly hello: hello_Type;
  readonly feed: feed_Type;
}

export declare function ref(): Client;
