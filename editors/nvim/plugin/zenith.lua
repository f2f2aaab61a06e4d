-- Loaded automatically when editors/nvim is on 'runtimepath'; call require('zenith').setup()
-- from your config to start the server.
if vim.fn.has('nvim-0.11') == 0 then
  vim.notify('zenith.nvim needs Neovim 0.11 or newer', vim.log.levels.WARN)
end
