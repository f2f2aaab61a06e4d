-- Headless Neovim 0.11 as a real LSP client of `znt serve`, through editors/nvim as a user
-- installs it: lsp/zenith.lua + vim.lsp.enable, the plugin's commands, :checkhealth zenith and
-- the statusline component.
-- Usage: nvim --headless --clean -l nvim_e2e.lua ZNT INDEX_DIR WORKSPACE PLUGIN_DIR OUTPUT_JSON
local znt, index_dir, workspace, plugin_dir, output = unpack(arg)
vim.opt.runtimepath:prepend(plugin_dir)
-- --clean -l has finished startup: source the plugin file as startup would have.
vim.cmd.runtime('plugin/zenith.lua')
local zenith = require('zenith')

local report = { errors = {}, statusline = {}, notifications = {} }
local function fail(message)
  table.insert(report.errors, message)
end

-- setup() is vim.lsp.config + vim.lsp.enable with the plugin's defaults and the options given.
zenith.setup({ cmd = { znt, '--index-dir', index_dir, 'serve' }, picker = 'select' })
report.config_cmd = vim.lsp.config.zenith.cmd
report.config_filetypes = vim.lsp.config.zenith.filetypes

vim.api.nvim_create_autocmd('LspProgress', {
  callback = function()
    local text = zenith.status()
    if text ~= '' then
      table.insert(report.statusline, text)
    end
  end,
})
local notify = vim.notify
vim.notify = function(message, level)
  table.insert(report.notifications, { message = message, level = level })
  return notify(message, level)
end

-- Picks the first row of every vim.ui.select, recording what it showed.
local selections = {}
vim.ui.select = function(items, opts, on_choice)
  local shown = {}
  for _, item in ipairs(items) do
    table.insert(shown, opts.format_item(item))
  end
  table.insert(selections, { prompt = opts.prompt, items = shown })
  on_choice(items[1], 1)
end

local function wait_selection(count)
  return vim.wait(20000, function()
    return #selections >= count
  end, 20)
end

vim.cmd('edit ' .. vim.fn.fnameescape(workspace .. '/src/config.rs'))
local attached = vim.wait(30000, function()
  return #vim.lsp.get_clients({ name = 'zenith', bufnr = 0 }) > 0
end, 50)
if not attached then
  fail('the zenith client never attached')
else
  local client = vim.lsp.get_clients({ name = 'zenith', bufnr = 0 })[1]
  local ready = vim.wait(120000, function()
    local response = client:request_sync('zenith/status', nil, 5000, 0)
    local status = response and response.result
    if not status or #status == 0 then
      return false
    end
    for _, folder in ipairs(status) do
      if not folder.ready or folder.symbols == 0 or folder.embedded < folder.symbols or folder.health ~= 'ok' then
        return false
      end
    end
    return true
  end, 200)
  if not ready then
    fail('the index never became ready')
  end
  -- The progress's end follows the last commit.
  vim.wait(5000, function()
    return zenith.status() == ''
  end, 20)
  report.statusline_after = zenith.status()

  local symbols
  vim.lsp.buf.workspace_symbol('ibfo', {
    on_list = function(list)
      symbols = list.items
    end,
  })
  vim.wait(10000, function()
    return symbols ~= nil
  end, 20)
  report.workspace_symbol = symbols or {}

  -- :ZenithSymbols: the server's order, then a jump to the chosen symbol.
  vim.cmd('ZenithSymbols ibfo')
  if not wait_selection(1) then
    fail(':ZenithSymbols showed nothing')
  end
  report.symbols_picker = selections[1]
  report.symbols_jump = { file = vim.api.nvim_buf_get_name(0), cursor = vim.api.nvim_win_get_cursor(0) }

  -- :ZenithSearch: semantic + words, the signature and doc in each row.
  vim.cmd('ZenithSearch make a new account for someone')
  if not wait_selection(2) then
    fail(':ZenithSearch showed nothing')
  end
  report.search_picker = selections[2]
  report.search_jump = { file = vim.api.nvim_buf_get_name(0), cursor = vim.api.nvim_win_get_cursor(0) }

  -- :ZenithSearch! and require('zenith').search: the quickfix list.
  local search
  zenith.search('make a new account for someone', { mode = 'semantic', limit = 3 }, function(results)
    search = results
  end)
  vim.wait(20000, function()
    return search ~= nil
  end, 20)
  report.search = search or {}
  report.quickfix = vim.fn.getqflist()

  -- :ZenithStatus says each folder's health.
  local before = #report.notifications
  vim.cmd('ZenithStatus')
  vim.wait(5000, function()
    return #report.notifications > before
  end, 20)
  report.status_notification = report.notifications[before + 1]

  -- :ZenithReindex begins a new progress run, which the statusline shows.
  local shown = #report.statusline
  vim.cmd('ZenithReindex')
  vim.wait(20000, function()
    return #report.statusline > shown
  end, 20)
  report.reindex_statusline = report.statusline[shown + 1]

  -- :checkhealth zenith, read back from its buffer.
  vim.cmd('checkhealth zenith')
  report.health = vim.api.nvim_buf_get_lines(0, 0, -1, false)
end

local file = io.open(output, 'w')
file:write(vim.json.encode(report))
file:close()
vim.cmd('qa!')
