-- Loaded when editors/nvim is on 'runtimepath'. Start the server with
-- `vim.lsp.enable('zenith')` (Neovim 0.11) or `require('zenith').setup()`.
if vim.g.loaded_zenith then
  return
end
vim.g.loaded_zenith = true
if vim.fn.has('nvim-0.11') == 0 then
  vim.notify('zenith.nvim needs Neovim 0.11 or newer', vim.log.levels.WARN)
  return
end

local function zenith()
  return require('zenith')
end

vim.api.nvim_create_user_command('ZenithSymbols', function(command)
  require('zenith.pickers').symbols({ query = command.args })
end, { nargs = '?', desc = 'Zenith: go to a symbol in the workspace (the server ranks)' })

vim.api.nvim_create_user_command('ZenithSearch', function(command)
  if command.bang then
    zenith().search(command.args, { mode = 'hybrid' })
  else
    require('zenith.pickers').search({ query = command.args })
  end
end, { nargs = '*', bang = true, desc = 'Zenith: search code by meaning and words (! fills the quickfix list)' })

vim.api.nvim_create_user_command('ZenithStatus', function()
  local client = zenith().client()
  if not client then
    vim.notify('zenith: the language server is not running', vim.log.levels.WARN)
    return
  end
  client:request('zenith/status', nil, function(err, folders)
    if err then
      vim.notify('zenith: ' .. err.message, vim.log.levels.ERROR)
    else
      vim.notify(table.concat(zenith().status_lines(folders), '\n'), vim.log.levels.INFO)
    end
  end)
end, { desc = 'Zenith: show the index status of each folder' })

vim.api.nvim_create_user_command('ZenithReindex', function()
  local client = zenith().client()
  if client then
    client:request('zenith/reindex', nil, function() end)
  end
end, { desc = 'Zenith: re-check every file of the workspace' })

vim.api.nvim_create_user_command('ZenithTeamPush', function(command)
  zenith().team_push({ dryRun = command.bang })
end, { bang = true, desc = "Zenith: push the index to the team remote (! lists what would be sent)" })

vim.api.nvim_create_user_command('ZenithTeamStatus', function()
  zenith().team_status()
end, { desc = 'Zenith: what the team remote holds for this repository' })

vim.api.nvim_create_autocmd('LspProgress', {
  group = vim.api.nvim_create_augroup('zenith.progress', { clear = true }),
  callback = function(event)
    zenith()._on_progress(event.data.client_id, event.data.params)
  end,
})

-- Fatal and degraded states (no model, a failed folder) arrive as window/showMessage, which
-- Neovim shows with vim.notify by default.
