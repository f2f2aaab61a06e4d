(module name: [(constant) (scope_resolution)] @name) @definition.module
(class name: [(constant) (scope_resolution)] @name) @definition.class
(method name: (_) @name) @definition.method
(singleton_method name: (_) @name) @definition.method
(assignment left: (constant) @name) @definition.constant
(call
  method: (identifier) @attr (#match? @attr "^attr_(reader|writer|accessor)$")
  arguments: (argument_list (simple_symbol) @name)) @definition.property
