// Registers the training kernels for the wasm backend, on the SIMD kernels
// of simd.wat (run in place on the backend's heap), one kernel a file here.
//
// tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter (tfjs issue 8474), its
// Conv2DBackpropInput and transposed BatchMatMul are scalar loops, and its
// Identity copies. Replaced here:
// - BatchMatMul (float32): packed SIMD GEMM, any transposition (matmul.ts);
// - Conv2D (NHWC, no dilation): an indirect GEMM over an explicitly padded
//   copy of the input (no im2col), and for 3x3 "same" convolutions with
//   channels in multiples of 4, Winograd F(2x2, 3x3) (conv2d.ts);
// - filter gradient: tiles of taps x output channels walking the output
//   pixels, reading the padded input and dy in place (no im2col either),
//   and the gradient of the Winograd form where Conv2D takes it
//   (conv2d_backprop_filter.ts);
// - input gradient (stride 1): that Conv2D of dy with the filter rotated 180
//   degrees and its channel axes swapped, with the complementary padding
//   (conv2d_backprop_input.ts);
// - MaxPoolGrad, Identity (a shared reference), SplitV (copies within the
//   heap), and a fused Adam update (max_pool_grad.ts, identity.ts,
//   split_v.ts, adam_update.ts); batch norm (batch_norm.ts).
// Anything else (NCHW, dilations, strided input gradients, other dtypes) goes
// to a correct fallback or throws a clear error; never a silently wrong result.
import * as tf from "@tensorflow/tfjs";
import { registerBatchNormKernels } from "./batch_norm.ts";
import { orOriginal, override } from "./common.ts";
import { conv2D } from "./conv2d.ts";
import { conv2DBackpropFilter } from "./conv2d_backprop_filter.ts";
import { conv2DBackpropInput } from "./conv2d_backprop_input.ts";
import { batchMatMul } from "./matmul.ts";
import { maxPoolGrad } from "./max_pool_grad.ts";
import { identity } from "./identity.ts";
import { splitV } from "./split_v.ts";
import { ADAM_UPDATE, adamUpdate } from "./adam_update.ts";

export { ADAM_UPDATE };

let registered = false;

/**
 * Register the fast gradient kernels for the "wasm" backend (idempotent).
 * Call after importing "@tensorflow/tfjs-backend-wasm" and before training.
 */
export function registerWasmGradKernels(): void {
  if (registered) return;
  registered = true;
  override("Conv2D", orOriginal(conv2D));
  override("Conv2DBackpropInput", orOriginal(conv2DBackpropInput));
  override("BatchMatMul", orOriginal(batchMatMul));
  override("MaxPoolGrad", () => maxPoolGrad);
  override("Identity", orOriginal(identity));
  override("SplitV", orOriginal(splitV));
  tf.registerKernel({
    kernelName: ADAM_UPDATE,
    backendName: "wasm",
    kernelFunc: adamUpdate as unknown as tf.KernelFunc,
  });
  registerBatchNormKernels();
  if (tf.getKernel("Conv2DBackpropFilter", "wasm")) {
    tf.unregisterKernel("Conv2DBackpropFilter", "wasm");
  }
  tf.registerKernel({
    kernelName: "Conv2DBackpropFilter",
    backendName: "wasm",
    kernelFunc: conv2DBackpropFilter as unknown as tf.KernelFunc,
  });
}
