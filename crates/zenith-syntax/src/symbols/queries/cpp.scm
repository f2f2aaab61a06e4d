(namespace_definition name: (_) @name) @definition.namespace
(class_specifier name: (_) @name body: (_)) @definition.class
(struct_specifier name: (_) @name body: (_)) @definition.struct
(union_specifier name: (_) @name body: (_)) @definition.struct
(enum_specifier name: (_) @name body: (_)) @definition.enum
(enumerator name: (identifier) @name) @definition.enum_member
(type_definition declarator: (type_identifier) @name) @definition.type_alias
(type_definition declarator: (pointer_declarator declarator: (type_identifier) @name)) @definition.type_alias
(type_definition declarator: (function_declarator declarator: (parenthesized_declarator (pointer_declarator declarator: (type_identifier) @name)))) @definition.type_alias
(alias_declaration name: (type_identifier) @name) @definition.type_alias
(concept_definition name: (identifier) @name) @definition.type_alias
(preproc_def name: (identifier) @name) @definition.macro
(preproc_function_def name: (identifier) @name) @definition.macro
; Functions and methods: names live in declarator chains; symbols::lang resolves them,
; including `Type::method` definitions outside the class.
(function_definition) @definition.function
; Prototypes at namespace scope, also inside include guards, #if blocks and extern "C" blocks.
(translation_unit (declaration declarator: [(function_declarator) (pointer_declarator) (reference_declarator)]) @definition.function)
(preproc_ifdef (declaration declarator: [(function_declarator) (pointer_declarator) (reference_declarator)]) @definition.function)
(preproc_if (declaration declarator: [(function_declarator) (pointer_declarator) (reference_declarator)]) @definition.function)
(preproc_else (declaration declarator: [(function_declarator) (pointer_declarator) (reference_declarator)]) @definition.function)
(preproc_elif (declaration declarator: [(function_declarator) (pointer_declarator) (reference_declarator)]) @definition.function)
(declaration_list (declaration declarator: [(function_declarator) (pointer_declarator) (reference_declarator)]) @definition.function)
(ERROR (declaration declarator: [(function_declarator) (pointer_declarator) (reference_declarator)]) @definition.function)
(field_declaration_list (field_declaration declarator: [(function_declarator) (pointer_declarator) (reference_declarator)]) @definition.method)
(field_declaration_list (declaration declarator: (function_declarator)) @definition.method)
(field_declaration_list (field_declaration declarator: (field_identifier) @name) @definition.field)
(field_declaration_list (field_declaration declarator: (pointer_declarator declarator: (field_identifier) @name)) @definition.field)
(field_declaration_list (field_declaration declarator: (reference_declarator (field_identifier) @name)) @definition.field)
(field_declaration_list (field_declaration declarator: (array_declarator declarator: (field_identifier) @name)) @definition.field)
