-- Zenith for Neovim >= 0.11: starts `znt serve` through vim.lsp.config / vim.lsp.enable and adds
-- :ZenithSymbols, :ZenithSearch, :ZenithStatus, :ZenithReindex, :ZenithTeamPush, :ZenithTeamStatus,
-- `:checkhealth zenith` and a
-- statusline component fed by $/progress.

local M = {}

M.filetypes = {
  'rust', 'python', 'javascript', 'javascriptreact', 'typescript', 'typescriptreact', 'go', 'java',
  'c', 'cpp', 'cs', 'ruby', 'php',
}
M.root_markers = { '.zenith.toml', '.git', '.hg', '.jj', 'Cargo.toml', 'package.json', 'pyproject.toml', 'go.mod' }

--- Options given to setup() (or the defaults).
M.options = { picker = 'auto' }

--- The server configuration: what lsp/zenith.lua returns and setup() extends.
--- @param opts? table
function M.default_config(opts)
  opts = opts or {}
  return {
    cmd = opts.cmd or { 'znt', 'serve' },
    filetypes = opts.filetypes or M.filetypes,
    root_markers = M.root_markers,
    -- The sections and keys of .zenith.toml, as the editor's settings layer.
    -- (An empty table would be encoded as a JSON array: nothing is sent then.)
    init_options = (function()
      local layer = vim.tbl_extend('force', {}, opts.settings or {},
        opts.symbol_limit and { symbolLimit = opts.symbol_limit } or {},
        opts.index and { index = opts.index } or {}, opts.embed and { embed = opts.embed } or {})
      return next(layer) ~= nil and layer or nil
    end)(),
    capabilities = {
      general = { positionEncodings = { 'utf-8', 'utf-16' } },
      window = { workDoneProgress = true },
    },
  }
end

--- The running client (of the current buffer when it has one).
function M.client()
  return vim.lsp.get_clients({ name = 'zenith', bufnr = 0 })[1] or vim.lsp.get_clients({ name = 'zenith' })[1]
end

--- The command that starts the server, as configured.
function M.cmd()
  local config = vim.lsp.config and vim.lsp.config.zenith
  local cmd = (config and config.cmd) or M.options.cmd or { 'znt', 'serve' }
  return type(cmd) == 'table' and cmd or { 'znt', 'serve' }
end

--- Starts the server for every buffer of a supported file type (for configurations that call a
--- setup function, e.g. lazy.nvim's `opts`; `vim.lsp.enable('zenith')` alone works too).
--- @param opts? { cmd?: string[], settings?: table, symbol_limit?: integer, index?: table, embed?: table, picker?: 'auto'|'telescope'|'fzf-lua'|'snacks'|'select', filetypes?: string[] }
function M.setup(opts)
  opts = opts or {}
  M.options = vim.tbl_extend('force', M.options, opts)
  vim.lsp.config('zenith', M.default_config(opts))
  vim.lsp.enable('zenith')
end

-- Progress of the running index, by token, for the statusline.
local progress = {}

--- A short statusline component: "Zenith 42%" while indexing, "" otherwise.
function M.status()
  for _, value in pairs(progress) do
    if value.percentage then
      return string.format('Zenith %d%%', value.percentage)
    end
    return 'Zenith …'
  end
  return ''
end

--- Called for every LspProgress event (public so tests and statuslines can observe it).
function M._on_progress(client_id, params)
  local client = vim.lsp.get_client_by_id(client_id)
  if not client or client.name ~= 'zenith' or type(params.value) ~= 'table' then
    return
  end
  local token = tostring(params.token)
  if params.value.kind == 'end' then
    progress[token] = nil
  else
    progress[token] = vim.tbl_extend('force', progress[token] or {}, params.value)
  end
  vim.cmd.redrawstatus({ bang = true, mods = { silent = true } })
end

--- Sends zenith/search and puts the results into the quickfix list.
--- @param query string
--- @param params? { mode?: string, language?: string, kind?: string, pathPrefix?: string, limit?: integer, scope?: 'private'|'team'|'deps'|'all' }
--- @param on_done? fun(results: table[])
function M.search(query, params, on_done)
  local client = M.client()
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
      -- A team hit is in a teammate's repository: listed, with its repository, but not a file here.
      local team = type(result.repo) == 'string'
      -- A dependency hit is a file of the package's sources (or a zenith-deps: URI without them).
      local package = type(result.package) == 'table' and string.format('[%s %s] ', result.package.name,
        result.package.version) or ''
      local on_disk = result.location.uri:match('^file:') ~= nil
      table.insert(items, {
        filename = team and (result.repo .. ':' .. result.location.uri:gsub('^zenith%-team:///', ''):sub(#result.repo + 2))
          or (on_disk and vim.uri_to_fname(result.location.uri) or result.location.uri),
        lnum = result.location.range.start.line + 1,
        col = result.location.range.start.character + 1,
        text = string.format('%s%s %s  %s', package, result.kind, result.qualifiedName, result.signature),
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

--- Lines describing each folder's answer to zenith/team/push (for :ZenithTeamPush).
function M.team_push_lines(results)
  local lines = {}
  for _, result in ipairs(results or {}) do
    if type(result.error) == 'string' then
      table.insert(lines, string.format('%s: %s', result.root, result.error))
    elseif type(result.plan) == 'table' then
      table.insert(lines, string.format('%s: would send %d files (%d symbols); %d uncommitted, %d excluded',
        result.root, #result.plan.send, result.plan.rows_to_send, #result.plan.uncommitted, #result.plan.excluded))
    elseif type(result.report) == 'table' then
      table.insert(lines, string.format('%s: pushed %d files (%d symbols)', result.root, result.report.files_sent,
        result.report.rows_sent))
    end
  end
  return lines
end

--- Lines describing each folder's team remote (for :ZenithTeamStatus).
function M.team_status_lines(results)
  local lines = {}
  for _, result in ipairs(results or {}) do
    local team = result.status
    if type(team) ~= 'table' then
      table.insert(lines, string.format('%s: %s', result.root, tostring(result.error)))
    else
      table.insert(lines, string.format('%s: %s on %s, %s', result.root, tostring(team.repo), team.remote,
        team.reachable and (#team.repositories .. ' repositories') or ('unreachable: ' .. tostring(team.error))))
      for _, ref in ipairs(team.refs or {}) do
        table.insert(lines, string.format('  %s @ %s: %d files, %d symbols, %d embedded', ref.git_ref,
          ref.commit:sub(1, 12), ref.files, ref.symbols, ref.embedded))
      end
    end
  end
  return lines
end

local function team_request(method, params, to_lines)
  local client = M.client()
  if not client then
    vim.notify('zenith: the language server is not running', vim.log.levels.WARN)
    return
  end
  client:request(method, params, function(err, results)
    if err then
      vim.notify('zenith: ' .. err.message, vim.log.levels.ERROR)
    else
      vim.notify(table.concat(to_lines(results), '\n'), vim.log.levels.INFO)
    end
  end)
end

--- Sends zenith/team/push (progress arrives as $/progress) and shows what was sent.
--- @param params? { dryRun?: boolean, folder?: string }
function M.team_push(params)
  team_request('zenith/team/push', params or {}, M.team_push_lines)
end

--- Shows zenith/team/status.
function M.team_status()
  team_request('zenith/team/status', {}, M.team_status_lines)
end

--- Lines describing each folder of zenith/status (for :ZenithStatus).
function M.status_lines(folders)
  local lines = {}
  for _, folder in ipairs(folders or {}) do
    table.insert(lines, string.format('%s: %s, %d symbols, %d embedded%s%s', folder.root, folder.health or '?',
      folder.symbols or 0, folder.embedded or 0, folder.readOnly and ', read-only' or '',
      folder.healthMessage ~= vim.NIL and folder.healthMessage and (' — ' .. folder.healthMessage) or ''))
  end
  return lines
end

return M
