/**
 * The one place that imports TensorFlow.js. Everything else imports `tf` from here so that the
 * node bindings (when installed) and the wasm backend register on the same tfjs-core instance.
 */
import * as tf from "@tensorflow/tfjs";

// tfjs prints a "looks like you are running in Node.js" banner on first cpu use; PROD mode silences
// it (and tfjs's other debug-only checks). Our own backend report replaces it (backend_info()).
tf.env().set("PROD", true);

export { tf };
export type Tensor = tf.Tensor;
