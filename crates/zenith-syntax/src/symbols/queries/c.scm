; Function names sit inside declarator chains (pointers, parentheses); symbols::lang finds them.
(function_definition) @definition.function
; Prototypes at file scope, also inside include guards, #if blocks and extern "C" blocks.
; `extern "C" {` split across `#ifdef __cplusplus` blocks leaves C headers with ERROR nodes
; around intact declarations; those declarations are still found.
(translation_unit (declaration declarator: [(function_declarator) (pointer_declarator)]) @definition.function)
(preproc_ifdef (declaration declarator: [(function_declarator) (pointer_declarator)]) @definition.function)
(preproc_if (declaration declarator: [(function_declarator) (pointer_declarator)]) @definition.function)
(preproc_else (declaration declarator: [(function_declarator) (pointer_declarator)]) @definition.function)
(preproc_elif (declaration declarator: [(function_declarator) (pointer_declarator)]) @definition.function)
(declaration_list (declaration declarator: [(function_declarator) (pointer_declarator)]) @definition.function)
(ERROR (declaration declarator: [(function_declarator) (pointer_declarator)]) @definition.function)
(struct_specifier name: (type_identifier) @name body: (_)) @definition.struct
(union_specifier name: (type_identifier) @name body: (_)) @definition.struct
(enum_specifier name: (type_identifier) @name body: (_)) @definition.enum
(enumerator name: (identifier) @name) @definition.enum_member
(type_definition declarator: (type_identifier) @name) @definition.type_alias
(type_definition declarator: (pointer_declarator declarator: (type_identifier) @name)) @definition.type_alias
(type_definition declarator: (function_declarator declarator: (parenthesized_declarator (pointer_declarator declarator: (type_identifier) @name)))) @definition.type_alias
(preproc_def name: (identifier) @name) @definition.macro
(preproc_function_def name: (identifier) @name) @definition.macro
(field_declaration_list (field_declaration declarator: (field_identifier) @name) @definition.field)
(field_declaration_list (field_declaration declarator: (pointer_declarator declarator: (field_identifier) @name)) @definition.field)
(field_declaration_list (field_declaration declarator: (pointer_declarator declarator: (pointer_declarator declarator: (field_identifier) @name))) @definition.field)
(field_declaration_list (field_declaration declarator: (array_declarator declarator: (field_identifier) @name)) @definition.field)
