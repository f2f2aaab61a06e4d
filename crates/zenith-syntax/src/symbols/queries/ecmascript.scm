; Shared by JavaScript, TypeScript and TSX (appended to each grammar's own patterns).
(variable_declarator
  name: (identifier) @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.function
(variable_declarator name: (identifier) @name value: (class)) @definition.class
(program (lexical_declaration kind: "const" (variable_declarator name: (identifier) @name) @definition.constant))
(program (export_statement declaration: (lexical_declaration kind: "const" (variable_declarator name: (identifier) @name) @definition.constant)))
; CommonJS and ES5 APIs: `exports.f = function`, `module.exports.f = …`, `C.prototype.m = function`.
(expression_statement (assignment_expression
  left: (member_expression object: (_) @_object property: (property_identifier) @name)
  right: [(function_expression) (arrow_function) (generator_function)]) @definition.function
  (#match? @_object "^(module\\.)?exports$"))
(expression_statement (assignment_expression
  left: (member_expression
    object: (member_expression object: (identifier) @scope property: (property_identifier) @_prototype)
    property: (property_identifier) @name)
  right: [(function_expression) (arrow_function) (generator_function)]) @definition.method
  (#eq? @_prototype "prototype"))
