/** The form engine: the state of a form being filled, checked as the server checks it. See ../README.md. */

export { MESSAGES, checkValue, message, type MessageKey, type ShapeProblem } from "./check.js";
export { buildModel, textIn, type ChoiceDef, type Expr, type Field, type FieldKind, type FormModel, type FormNode, type Labels, type NodeKind, type Scope } from "./model.js";
export {
  FormError,
  FormSession,
  createForm,
  type Answers,
  type AttachmentRef,
  type ChoiceState,
  type Dropped,
  type EvalKind,
  type FormOptions,
  type InstanceState,
  type ItemError,
  type ItemState,
  type Page,
  type Problem,
  type Validation,
} from "./session.js";
