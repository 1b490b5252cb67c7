/** The expression engine: evaluates the compiled trees of a spec. No DOM, no I/O. See ../README.md. */

export { choiceProperties, deviceClock, type Choice } from "./context.js";
export { compileTree, equals, evaluate, type Compiled } from "./evaluator.js";
export { formatDate } from "./functions.js";
export { compilePattern, translatePattern } from "./regex.js";
export { isValidTimeZone } from "./temporal.js";
export { MAX_TREE_DEPTH, MAX_TREE_NODES, TreeError, checkTree, references, usesCurrent, usesFunction, walk } from "./tree.js";
export type { Answers, BinaryOp, Clock, EvalContext, Tree, Value } from "./types.js";
export { isEmpty, toBoolean, toNumber, toText } from "./values.js";
