import { registerRootComponent } from "expo";
import App from "./App";

// Registers App as the root component for the web preview and for native builds alike.
registerRootComponent(App);
