export * as caller from "../internal/clients/caller/endpoints";
export * as greeter from "../internal/clients/greeter/endpoints";
