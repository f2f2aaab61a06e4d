-- Zenith's language server for Neovim >= 0.11: `vim.lsp.enable('zenith')` reads this file
-- from 'runtimepath'. Override any field with `vim.lsp.config('zenith', { ... })`, e.g.
-- `cmd = { '/path/to/znt', 'serve' }` or `init_options = { embed = { enabled = false } }`.
return require('zenith').default_config()
