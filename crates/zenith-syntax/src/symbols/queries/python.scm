(class_definition name: (identifier) @name) @definition.class
(function_definition name: (identifier) @name) @definition.function
; Module-level constants (ALL_CAPS names are kept; see symbols::lang).
(module (expression_statement (assignment left: (identifier) @name) @definition.constant))
