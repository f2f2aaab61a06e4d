-- Zenith for Neovim ≥ 0.11: starts `znt serve` through vim.lsp.config / vim.lsp.enable and adds
-- :ZenithSearch {query} (semantic + full-text search into the quickfix list).
local M = {}

local filetypes = {
  'rust', 'python', 'javascript', 'javascriptreact', 'typescript', 'typescriptreact', 'go', 'java',
  'c', 'cpp', 'cs', 'ruby', 'php',
}

--- Registers and enables the `zenith` language server.
--- @param opts? { cmd?: string[], symbol_limit?: integer, index?: table, embed?: table } index/embed: the sections of .zenith.toml, as the editor's settings layer
function M.setup(opts)
  opts = opts or {}
  vim.lsp.config('zenith', {
    cmd = opts.cmd or { 'znt', 'serve' },
    filetypes = filetypes,
    root_markers = { '.git', '.zenith.toml', 'Cargo.toml', 'package.json', 'pyproject.toml', 'go.mod' },
    init_options = { symbolLimit = opts.symbol_limit, index = opts.index, embed = opts.embed },
    capabilities = { general = { positionEncodings = { 'utf-8', 'utf-16' } } },
  })
  vim.lsp.enable('zenith')

  vim.api.nvim_create_user_command('ZenithSearch', function(command)
    M.search(command.args, { mode = 'hybrid' })
  end, { nargs = '+', desc = 'Zenith: search code by meaning and words' })
end

--- Sends zenith/search and puts the results into the quickfix list.
--- @param query string
--- @param params? { mode?: string, language?: string, kind?: string, pathPrefix?: string, limit?: integer }
--- @param on_done? fun(results: table[])
function M.search(query, params, on_done)
  local client = vim.lsp.get_clients({ name = 'zenith' })[1]
  if not client then
    vim.notify('zenith: the language server is not running', vim.log.levels.WARN)
    return
  end
  local request = vim.tbl_extend('force', { query = query, limit = 20 }, params or {})
  client:request('zenith/search', request, function(err, results)
    if err then
      vim.notify('zenith: ' .. err.message, vim.log.levels.ERROR)
      return
    end
    local items = {}
    for _, result in ipairs(results or {}) do
      table.insert(items, {
        filename = vim.uri_to_fname(result.location.uri),
        lnum = result.location.range.start.line + 1,
        col = result.location.range.start.character + 1,
        text = string.format('%s %s  %s', result.kind, result.qualifiedName, result.signature),
      })
    end
    vim.fn.setqflist({}, ' ', { title = 'Zenith: ' .. query, items = items })
    if on_done then
      on_done(results or {})
    else
      vim.cmd('copen')
    end
  end)
end

return M
