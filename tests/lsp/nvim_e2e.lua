-- Headless Neovim 0.11 as a real LSP client of `znt serve`.
-- Usage: nvim --headless --clean -l nvim_e2e.lua ZNT INDEX_DIR WORKSPACE PLUGIN_DIR OUTPUT_JSON
local znt, index_dir, workspace, plugin_dir, output = unpack(arg)
vim.opt.runtimepath:prepend(plugin_dir)
local zenith = require('zenith')
zenith.setup({ cmd = { znt, '--index-dir', index_dir, 'serve' } })

local report = { errors = {} }
local function fail(message)
  table.insert(report.errors, message)
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
      if not folder.ready or folder.symbols == 0 or folder.embedded < folder.symbols then
        return false
      end
    end
    return true
  end, 200)
  if not ready then
    fail('the index never became ready')
  end

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

  local search
  zenith.search('make a new account for someone', { mode = 'semantic', limit = 3 }, function(results)
    search = results
  end)
  vim.wait(20000, function()
    return search ~= nil
  end, 20)
  report.search = search or {}
  report.quickfix = vim.fn.getqflist()
end

local file = io.open(output, 'w')
file:write(vim.json.encode(report))
file:close()
vim.cmd('qa!')
