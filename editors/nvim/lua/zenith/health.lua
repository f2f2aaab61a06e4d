-- :checkhealth zenith — the binary, its version, the model and extension, the index.
local M = {}

local MIN_VERSION = { 0, 1, 0 }

local function older(version, minimum)
  for i = 1, 3 do
    if version[i] ~= minimum[i] then
      return version[i] < minimum[i]
    end
  end
  return false
end

function M.check()
  local health = vim.health
  local zenith = require('zenith')
  health.start('zenith: the znt binary')
  local cmd = zenith.cmd()
  local path = vim.fn.exepath(cmd[1])
  if path == '' then
    health.error(string.format('%s was not found', cmd[1]), {
      'Install it: `cargo install --path .` in a Zenith checkout (it lands in ~/.cargo/bin)',
      "or point the client at it: vim.lsp.config('zenith', { cmd = { '/path/to/znt', 'serve' } })",
    })
    return
  end
  health.ok('found ' .. path)
  local result = vim.system({ path, '--version' }, { text = true }):wait()
  local major, minor, patch = (result.stdout or ''):match('znt (%d+)%.(%d+)%.(%d+)')
  if not major then
    health.error(string.format('%s --version printed %q: not Zenith', path, vim.trim(result.stdout or '')))
    return
  end
  local version = { tonumber(major), tonumber(minor), tonumber(patch) }
  if older(version, MIN_VERSION) then
    health.error(string.format('znt %s.%s.%s is older than %d.%d.%d', major, minor, patch, unpack(MIN_VERSION)),
      { 'Update it: `cargo install --path .` in a newer checkout' })
  else
    health.ok(string.format('version %s.%s.%s', major, minor, patch))
  end

  health.start('zenith: assets and index of ' .. vim.fn.getcwd())
  -- The same command line as the server (e.g. its --index-dir), with `status --json`.
  local status_cmd = { path }
  for i = 2, #cmd do
    if cmd[i] ~= 'serve' then
      table.insert(status_cmd, cmd[i])
    end
  end
  vim.list_extend(status_cmd, { 'status', '--json' })
  result = vim.system(status_cmd, { text = true }):wait()
  local ok, status = pcall(vim.json.decode, result.stdout or '')
  if result.code ~= 0 or not ok then
    health.error('znt status failed: ' .. vim.trim(result.stderr or ''))
  else
    if status.model_installed then
      health.ok('embedding model ' .. status.model .. ' installed')
    else
      health.warn('the embedding model is not installed: semantic search is off', { 'Run `znt setup`' })
    end
    if status.extension_installed then
      health.ok('DuckDB lance extension installed')
    else
      health.warn('the DuckDB lance extension is not installed', { 'Run `znt setup`' })
    end
    if status.exists then
      health.ok(string.format('index %s: %d symbols, %d embedded (%s)', status.index, status.symbols, status.embedded, status.readiness))
    else
      health.warn('no index yet for ' .. status.workspace, { 'Open a file of the workspace (the server indexes it) or run `znt index`' })
    end
    for _, file in ipairs(status.config_files or {}) do
      health.info('configuration read from ' .. file)
    end
  end

  health.start('zenith: the running server')
  local client = zenith.client()
  if not client then
    health.info('not running in this session (it starts with the first file of a supported type)')
    return
  end
  local response = client:request_sync('zenith/status', nil, 5000, 0)
  if not response or response.err then
    health.error('zenith/status failed: ' .. (response and response.err.message or 'no answer'))
    return
  end
  for _, folder in ipairs(response.result or {}) do
    local line = zenith.status_lines({ folder })[1]
    if folder.health == 'error' then
      health.error(line)
    elseif folder.health == 'degraded' then
      health.warn(line, { 'Run `znt setup`, then :lsp restart zenith' })
    else
      health.ok(line)
    end
  end
end

return M
