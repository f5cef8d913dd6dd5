/** The SDK's version: the server's and the OpenAPI spec's `info.version`. */
export const VERSION = '0.1.0';
