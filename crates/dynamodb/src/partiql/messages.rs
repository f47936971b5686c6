//! DynamoDB's PartiQL messages, each with where it comes from:
//!
//! - "AWS": an exact message a public test suite pins against AWS (eu-west-2), or one AWS's
//!   documentation quotes;
//! - "Local": the message table of DynamoDB Local (AWS's own emulator, which shares the PartiQL
//!   front end), or a message recorded from DynamoDB Local;
//! - "PartiQL": the reference PartiQL parser's message, which AWS puts after "Statement wasn't
//!   well formed, can't be processed: " (the pinned messages show it does);
//! - "unverified": no source found; the wording follows the nearest known message.

/// AWS: the envelope of every syntax error.
pub(super) const NOT_WELL_FORMED: &str = "Statement wasn't well formed, can't be processed: ";

// Syntax details (after NOT_WELL_FORMED).

/// AWS: tokens after a complete statement.
pub(super) const LEFTOVER: &str = "Unexpected token after expression";
/// PartiQL (unverified on AWS): a second statement after `;`.
pub(super) const AFTER_SEMICOLON: &str = "Unexpected token after semicolon. (Only one query is allowed.)";
/// AWS: nothing (or something that starts no term) where a term must start.
pub(super) const UNEXPECTED_TERM: &str = "Unexpected term";
/// AWS: a keyword where a term must start.
pub(super) const UNEXPECTED_KEYWORD: &str = "Unexpected keyword";
/// AWS: an operator where a term must start.
pub(super) const UNEXPECTED_OPERATOR: &str = "Unexpected operator";
/// AWS: an infix operator at the end of the statement.
pub(super) const MISSING_RHS: &str = "Missing right-hand side expression of infix operator";
/// AWS: `IS` followed by a word that names no type.
pub(super) const EXPECTED_TYPE_NAME: &str = "Expected type name";
/// AWS: a DML statement's table is not a name.
pub(super) const EXPECTED_SIMPLE_PATH: &str = "Expected identifier for simple path";
/// AWS (third-party suite): a statement that is no statement, such as `SLECT * FROM t`.
pub(super) const EXPECTED_DML: &str = "Expected data manipulation";
/// PartiQL: `DELETE` not followed by `FROM`.
pub(super) const EXPECTED_FROM_AFTER_DELETE: &str = "Expected FROM after DELETE";
/// PartiQL: a SELECT list not followed by `FROM`.
pub(super) const EXPECTED_FROM_AFTER_SELECT: &str = "Expected FROM after SELECT list";
/// PartiQL: `()`.
pub(super) const EMPTY_GROUP: &str = "Expression group cannot be empty";
/// PartiQL: `*` beside other items of a SELECT list.
pub(super) const STAR_NOT_ALONE: &str =
    "Other expressions may not be present in the select list when '*' is used without dot notation.";
/// PartiQL: a dot followed by something that names nothing.
pub(super) const INVALID_DOT_COMPONENT: &str = "Invalid path dot component";
/// PartiQL: `.*` in a DML path.
pub(super) const INVALID_DOT_SIMPLE: &str = "Invalid path dot component for simple path";
/// PartiQL: a DML path's `[...]` holding something other than a literal.
pub(super) const INVALID_COMPONENT_SIMPLE: &str = "Invalid path component for simple path";
/// PartiQL: `BETWEEN x AND` at the end.
pub(super) const EXPECTED_AFTER_AND: &str = "Expected expression after AND";
/// PartiQL: `SET` not followed by an assignment.
pub(super) const EXPECTED_ASSIGNMENT: &str = "Expected assignment for SET";
/// Unverified: a PartiQL `Expected <TOKEN_TYPE>` message.
pub(super) fn expected(token_type: &str) -> String {
    format!("Expected {token_type}")
}
/// Stratus' own: nesting deeper than the parser follows (AWS's limit and message are unknown).
pub(super) const TOO_DEEP: &str = "Expression nesting exceeds the supported depth";

// Semantic errors (no envelope).

/// AWS: an alias on a table.
pub(super) const ALIASING: &str = "Aliasing is not supported";
/// AWS (third-party suite): UPDATE or DELETE without an equality on every key attribute.
pub(super) const INCOMPLETE_KEY: &str = "Where clause does not contain a mandatory equality on all key attributes";
/// AWS (moto's suite and DynamoDB Local): `?` count and `Parameters` differ.
pub(super) const PARAMETER_COUNT: &str = "Number of parameters in request and statement don't match.";
/// Local: the item of an existing key (the caller answers DuplicateItemException with it).
pub const DUPLICATE_ITEM: &str = "Duplicate primary key exists in table";
/// Local: `INSERT INTO t <<...>>`, `INSERT INTO t VALUES ...`.
pub(super) const INSERT_MANY: &str = "Unsupported operation: Inserting multiple items in a single statement is not supported, use \"INSERT INTO tableName VALUE item\" instead";
/// Local: `INSERT ... VALUE` of something other than `{...}`.
pub(super) const ITEM_SYNTAX: &str = "Unsupported format in item expression. Please use struct format {...} to express item values for insert statement.";
/// Local.
pub(super) const AT_UNSUPPORTED: &str = "AT is not supported in insert statements.";
/// Local.
pub(super) const RETURNING_INSERT: &str = "RETURNING is not supported in INSERT";
/// Local; the form of `%s` (the clause as written) is unverified.
pub(super) fn returning_delete(clause: &str) -> String {
    format!("Invalid returning clause: RETURNING {clause}. Only RETURNING ALL OLD * is allowed in DELETE statements.")
}
/// Local.
pub(super) const RETURNING_SYNTAX: &str = "Expected '*' after ( MODIFIED | ALL ) ( NEW | OLD ) in RETURNING clause";
/// Local.
pub(super) const RETURNING_MANY: &str = "Invalid syntax with multiple returning elements in RETURNING clause";
/// Local.
pub(super) const EMPTY_BAG: &str = "Empty bags are not supported";
/// Local.
pub(super) const BAG_TYPE: &str =
    "Unsupported data type in Bag. DynamoDB only supports either numbers or strings in bags";
/// Local (recorded wording, possibly abbreviated): a bag with a value twice.
pub(super) const BAG_DUPLICATES: &str = "Input collection contains duplicates";
/// Local.
pub(super) const MISSING_LITERAL: &str = "MISSING must be compared using IS operator";
/// Local.
pub(super) const IS_OPERAND: &str = "The left hand side argument to IS must be a Variable Reference, Literal, or Path";
/// Local.
pub(super) const IS_IN_UPDATE: &str = "IS operator is not supported in update expressions";
/// Local.
pub(super) const IN_OPERANDS: &str = "IN operator must have a left hand argument of type Variable Reference and right hand argument of type Seq with at least one member";
/// Local.
pub(super) const NOT_BOOLEAN: &str = "WHERE clause must contain an expression that resolves to a boolean";
/// Local.
pub(super) const SELECT_VALUE: &str = "Select projection doesn't support value or pivot keywords";
/// Local.
pub(super) const MULTIPLE_FROM: &str = "Only select from a single table or index is supported.";
/// Local.
pub(super) const FROM_COMPONENTS: &str = "A path may contain at most 2 components in the FROM clause";
/// Local.
pub(super) const UNEXPECTED_FROM_SOURCE: &str = "Unexpected from source";
/// Local.
pub(super) const ON_INDEX: &str = "This operation is not supported on an index";
/// Local.
pub(super) const TABLE_NAME: &str =
    "Table name should be within the length [3, 255] and only contain 'a-z', 'A-Z', '0-9', '-', '_', '.'.";
/// Local.
pub(super) const UNEXPECTED_PATH_COMPONENT: &str = "Unexpected path component";
/// Local.
pub(super) const EMPTY_PATH_COMPONENT: &str = "Path component cannot be an empty string";
/// Local.
pub(super) const WILDCARD_PATH: &str = "Wildcard path component like a[*].b are not supported";
/// Local.
pub(super) const UNPIVOT_PATH: &str = "Unpivot path component like a.*.b are not supported";
/// Local.
pub(super) const ORDER_BY_WITHOUT_WHERE: &str = "Must have WHERE clause in the statement when using ORDER BY clause.";
/// Local; `Type:` as PartiQL names node kinds (unverified).
pub(super) fn order_by_argument(kind: &str) -> String {
    format!("Argument to ORDER BY must be of type VariableReference. Type: {kind}")
}
/// Local.
pub(super) fn list_index(index: &str) -> String {
    format!("List index is not within the allowable range; index: [{index}]")
}
/// Local; AWS's wording for LIMIT was recorded from DynamoDB Local. The other clauses' names
/// are unverified.
pub(super) fn unsupported_clause(clause: &str) -> String {
    format!("Unsupported clause: {clause}")
}
/// Local; AWS answers `Unsupported operation: IsType` for `x IS INT4` (third-party suite), so
/// the operation is named as PartiQL's syntax tree names it (other names unverified).
pub(super) fn unsupported_operation(what: &str) -> String {
    format!("Unsupported operation: {what}")
}
/// Local.
pub(super) fn unrecognized_function(name: &str) -> String {
    format!("Unrecognized function: {name}")
}
/// Local; the operator's form is unverified.
pub(super) fn condition_operator(op: &str) -> String {
    format!("Unsupported operator in Condition Expression. Operator: {op}")
}
/// Local; the operator's form is unverified.
pub(super) fn update_operator(op: &str) -> String {
    format!("Unsupported operator in Update Expression. Operator: {op}")
}
/// Local.
pub(super) fn set_function_arguments(function: &str) -> String {
    format!("SET_{function} must have exactly two arguments")
}
/// Local.
pub(super) fn set_function_first(function: &str) -> String {
    format!("The first argument to SET_{function} must equal the assignment value")
}
/// Local.
pub(super) fn set_function_second(function: &str) -> String {
    format!("The second argument to SET_{function} must be a value with type SET")
}
/// Local.
pub(super) fn duplicate_projection(name: &str) -> String {
    format!("Duplicate identifiers in select clause: {name}")
}
/// Local.
pub(super) fn multiple_key_conditions(attribute: &str) -> String {
    format!("Multiple conditions on same key {attribute}. Only single item Update/Insert/Delete are supported")
}
/// Local; `%s` forms unverified.
pub(super) fn duplicate_struct_key(key: &str, at: &str) -> String {
    format!("Duplicate keys in tuple. Key: {key} under {at}")
}
/// Local; the type's form is unverified.
pub(super) fn struct_key_type(type_name: &str, at: &str) -> String {
    format!("Tuple keys must be of type String. Actual type: {type_name} under {at}")
}
/// Local; the type's form is unverified.
pub(super) fn unsupported_data_type(type_name: &str, at: &str) -> String {
    format!("Unsupported data type: {type_name} under key {at}")
}
/// Local; the type's form is unverified.
pub(super) fn is_type(type_name: &str) -> String {
    format!(
        "Unsupported data type for IS operator: {type_name}. Supported data types are [MISSING, NULL, BOOLEAN, BLOB, STRING, NUMERIC, STRUCT, TUPLE, LIST]"
    )
}
/// Local.
pub(super) const INDEX_IN_TRANSACTION: &str = "Operations on indices are not supported in transactions";
/// Local: EXISTS in ExecuteStatement or BatchExecuteStatement (the caller answers it).
pub const EXISTS_OUTSIDE_TRANSACTION: &str = "EXISTS can only be used in ExecuteTransaction write requests.";
