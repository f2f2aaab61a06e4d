-- :ZenithSymbols and :ZenithSearch. Each asks the server on every keystroke where the picker
-- can (Telescope, fzf-lua, snacks.nvim) and always keeps the server's order: no picker sorter
-- re-scores what Zenith ranked. Without any of them, vim.ui.select shows one query's answer.
local zenith = require('zenith')
local M = {}

local kinds = {}
for name, number in pairs(vim.lsp.protocol.SymbolKind) do
  if type(name) == 'string' then
    kinds[number] = name
  end
end

--- A picker row from a WorkspaceSymbol.
function M.symbol_item(symbol)
  local location = symbol.location
  local path = vim.uri_to_fname(location.uri)
  local start = location.range and location.range.start or { line = 0, character = 0 }
  local container = symbol.containerName and symbol.containerName ~= '' and ('  ' .. symbol.containerName) or ''
  return {
    text = string.format('%-11s %s%s  %s:%d', kinds[symbol.kind] or '?', symbol.name, container,
      vim.fn.fnamemodify(path, ':~:.'), start.line + 1),
    filename = path,
    lnum = start.line + 1,
    col = start.character + 1,
  }
end

--- A picker row from a zenith/search result.
function M.search_item(result)
  local path = vim.uri_to_fname(result.location.uri)
  local start = result.location.range.start
  local doc = type(result.doc) == 'string' and vim.split(vim.trim(result.doc), '\n')[1] or nil
  return {
    text = string.format('%-9s %s  %s  %s:%d%s', result.kind, result.qualifiedName, result.signature,
      vim.fn.fnamemodify(path, ':~:.'), start.line + 1, doc and ('  — ' .. doc) or ''),
    filename = path,
    lnum = start.line + 1,
    col = start.character + 1,
  }
end

local function jump(item)
  if not item then
    return
  end
  vim.cmd.edit(vim.fn.fnameescape(item.filename))
  vim.api.nvim_win_set_cursor(0, { item.lnum, item.col - 1 })
end

--- Asks the server synchronously (pickers that filter as you type call this per keystroke).
local function ask(method, params)
  local client = zenith.client()
  if not client then
    return nil, 'the language server is not running'
  end
  local response = client:request_sync(method, params, 5000, 0)
  if not response then
    return nil, 'no answer within 5 s'
  end
  if response.err then
    return nil, response.err.message
  end
  return response.result or {}
end

local function rows(method, params, to_item)
  local answer, err = ask(method, params)
  if not answer then
    vim.notify('zenith: ' .. err, vim.log.levels.ERROR)
    return {}
  end
  local items = {}
  for _, value in ipairs(answer) do
    table.insert(items, to_item(value))
  end
  return items
end

--- Which picker to use: the `picker` option, else the first one installed.
function M.backend()
  local wanted = zenith.options.picker or 'auto'
  if wanted ~= 'auto' then
    return wanted
  end
  for _, name in ipairs({ 'telescope', 'fzf-lua', 'snacks' }) do
    if pcall(require, name) then
      return name
    end
  end
  return 'select'
end

local function telescope(title, query, fetch)
  local pickers = require('telescope.pickers')
  local finders = require('telescope.finders')
  local sorters = require('telescope.sorters')
  local actions = require('telescope.actions')
  local state = require('telescope.actions.state')
  pickers
    .new({}, {
      prompt_title = title,
      default_text = query,
      finder = finders.new_dynamic({
        fn = fetch,
        entry_maker = function(item)
          return { value = item, display = item.text, ordinal = item.text, filename = item.filename, lnum = item.lnum, col = item.col }
        end,
      }),
      -- The empty sorter keeps the finder's order: Zenith's ranking.
      sorter = sorters.empty(),
      attach_mappings = function(buffer)
        actions.select_default:replace(function()
          local entry = state.get_selected_entry()
          actions.close(buffer)
          jump(entry and entry.value)
        end)
        return true
      end,
    })
    :find()
end

local function fzf(title, query, fetch)
  local by_text = {}
  require('fzf-lua').fzf_live(function(text)
    local lines = {}
    for _, item in ipairs(fetch(text)) do
      by_text[item.text] = item
      table.insert(lines, item.text)
    end
    return lines
  end, {
    prompt = title .. '> ',
    query = query,
    -- fzf must not re-sort what the server ranked.
    fzf_opts = { ['--no-sort'] = true },
    actions = {
      ['default'] = function(selected)
        jump(by_text[selected[1]])
      end,
    },
  })
end

local function snacks(title, query, fetch)
  require('snacks').picker.pick({
    title = title,
    search = query,
    live = true,
    finder = function(_, ctx)
      local items = {}
      for index, item in ipairs(fetch(ctx.filter.search)) do
        table.insert(items, { idx = index, score = 0, text = item.text, file = item.filename, pos = { item.lnum, item.col - 1 }, item = item })
      end
      return items
    end,
    format = 'text',
    sort = { fields = { 'idx' } },
    confirm = function(picker, item)
      picker:close()
      jump(item and item.item)
    end,
  })
end

local function select(title, query, fetch)
  local function show(text)
    local items = fetch(text)
    if #items == 0 then
      vim.notify('zenith: nothing found for ' .. text, vim.log.levels.INFO)
      return
    end
    vim.ui.select(items, {
      prompt = title .. ': ' .. text,
      format_item = function(item)
        return item.text
      end,
    }, jump)
  end
  if query and query ~= '' then
    show(query)
  else
    vim.ui.input({ prompt = title .. ': ' }, function(text)
      if text and text ~= '' then
        show(text)
      end
    end)
  end
end

local backends = { telescope = telescope, ['fzf-lua'] = fzf, snacks = snacks, select = select }

local function open(title, query, fetch)
  local name = M.backend()
  local backend = backends[name]
  if not backend then
    vim.notify('zenith: unknown picker ' .. tostring(name), vim.log.levels.ERROR)
    return
  end
  backend(title, query or '', fetch)
end

--- :ZenithSymbols — workspace/symbol in the server's ranking.
--- @param opts? { query?: string }
function M.symbols(opts)
  opts = opts or {}
  open('Zenith symbols', opts.query, function(text)
    return rows('workspace/symbol', { query = text or '' }, M.symbol_item)
  end)
end

--- :ZenithSearch — zenith/search (hybrid unless `mode` says otherwise).
--- @param opts? { query?: string, mode?: string, language?: string, kind?: string, pathPrefix?: string, limit?: integer }
function M.search(opts)
  opts = opts or {}
  open('Zenith search', opts.query, function(text)
    if not text or vim.trim(text) == '' then
      return {}
    end
    local params = { query = text, mode = opts.mode or 'hybrid', limit = opts.limit or 30,
      language = opts.language, kind = opts.kind, pathPrefix = opts.pathPrefix }
    return rows('zenith/search', params, M.search_item)
  end)
end

return M
