-- Echo application for Janus's Lua plugin (janus_lua.c), driven by the adapter
-- (adapter/server.py) over the Janus API.
--
-- Why Lua and not the EchoTest plugin: EchoTest answers a text message with
-- "... You wrote: <text>" instead of the text itself, so it cannot echo verbatim.
-- Here every data channel message goes back unchanged, with its type (text or
-- binary), on the channel (label) it came in on; RTP is echoed by the plugin's C
-- relay (addRecipient of a session to itself), which sends it with Janus's own SSRC.
--
-- Messages the adapter sends in a Janus "message" body:
--   {"request": "offer"} + jsep offer   -> event {"result": "answer"} + jsep answer
--   {"request": "open", "label": L, "hex": H}
--       send the bytes H (hex) as text on a new channel L opened by Janus (DCEP from
--       Janus); messages arriving on L are not echoed but reported to the adapter
--   {"request": "send", "label": L, "hex": H}   send H as text on channel L
--   {"request": "keyframe"}                    ask the peer for a key frame (PLI)
-- Events it pushes on its own: {"event": "data", "label": L, "hex": H} for a
-- message on a reported channel.

local json = require('cjson')
local sdp = require('janus-sdp')

sessions = {}
tasks = {}

-- No getPackage()/getName()/... overrides: janus_lua.c answers those by calling into
-- the script under its Lua mutex, and the core asks for the package name inside every
-- pushEvent without a JSEP, which Lua callbacks make while already holding that mutex:
-- a self-deadlock (gdb: janus_lua_incoming_data -> pushEvent -> janus_plugin_push_event
-- -> janus_lua_get_package -> g_mutex_lock). The plugin keeps its name janus.plugin.lua.

local function log(text)
	janusLog(4, "[echo.lua] " .. text)
end

-- Hex helpers: the adapter passes bytes as hex so that any byte survives JSON.
local function toHex(bytes)
	return (bytes:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

local function fromHex(hex)
	return (hex:gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end))
end

function init(config)
	log("loaded")
end

function destroy()
end

function createSession(id)
	sessions[id] = { reported = {}, pending = {}, ready = false }
end

function destroySession(id)
	removeRecipient(id, id)
	sessions[id] = nil
end

function querySession(id)
	return json.encode({ id = id })
end

-- Enables both directions of every kind of medium for this session.
local function enableMedia(id)
	for _, kind in ipairs({ "audio", "video", "data" }) do
		configureMedium(id, kind, "in", true)
		configureMedium(id, kind, "out", true)
	end
end

-- Builds the answer with Janus's SDP helper (the core adds ICE, DTLS and candidates).
local function answerFor(offerSdp)
	local offer = sdp.parse(offerSdp)
	local answer = sdp.generateAnswer(offer, { audio = true, video = true, data = true })
	return sdp.render(answer)
end

-- Sends a message on a label now if Janus says the data channels are ready, else
-- queues it until dataReady: the Lua plugin drops (with a warning) whatever a script
-- relays before its first dataReady, which the core only signals once SCTP's send
-- queue ran dry, i.e. after a browser's first message may already have arrived
-- together with its DCEP OPEN.
local function send(id, binary, label, data, protocol)
	local s = sessions[id]
	if s == nil then
		return
	end
	if not s.ready then
		s.pending[#s.pending + 1] = { binary = binary, label = label, data = data, protocol = protocol }
	elseif binary then
		relayBinaryData(id, data, #data, label, protocol)
	else
		relayTextData(id, data, #data, label, protocol)
	end
end

-- Synchronous requests; returns the response object, or nil and an error.
local function handleRequest(id, msg)
	local s = sessions[id]
	if msg.request == "open" then
		s.reported[msg.label] = true
		send(id, false, msg.label, fromHex(msg.hex), "")
	elseif msg.request == "send" then
		send(id, false, msg.label, fromHex(msg.hex), "")
	elseif msg.request == "keyframe" then
		sendPli(id)
	else
		return nil, "unknown request " .. tostring(msg.request)
	end
	return { result = "ok" }
end

function handleMessage(id, tr, msg, jsep)
	if sessions[id] == nil then
		return -1, "no such session"
	end
	local ok, decoded = pcall(json.decode, msg)
	if not ok or type(decoded) ~= "table" then
		return -1, "invalid message"
	end
	if jsep == nil then
		local response, err = handleRequest(id, decoded)
		if response == nil then
			return -1, err
		end
		return 0, json.encode(response)
	end
	-- An offer: answered asynchronously (from resumeScheduler), as the plugin requires.
	tasks[#tasks + 1] = { id = id, tr = tr, jsep = json.decode(jsep) }
	pokeScheduler()
	return 1, nil
end

function resumeScheduler()
	local pending = tasks
	tasks = {}
	for _, task in ipairs(pending) do
		if sessions[task.id] ~= nil then
			local ok, answerSdp = pcall(answerFor, task.jsep.sdp)
			if ok then
				enableMedia(task.id)
				pushEvent(task.id, task.tr, json.encode({ result = "answer" }),
					json.encode({ type = "answer", sdp = answerSdp }))
			else
				log("cannot answer: " .. tostring(answerSdp))
				pushEvent(task.id, task.tr, json.encode({ error = tostring(answerSdp) }), nil)
			end
		end
	end
end

function setupMedia(id)
	log(string.format("PeerConnection up for session %d", id))
	addRecipient(id, id)
	sendPli(id)
end

function hangupMedia(id)
	log(string.format("PeerConnection down for session %d", id))
	removeRecipient(id, id)
	local s = sessions[id]
	if s ~= nil then
		s.ready = false
		s.pending = {}
	end
end

function dataReady(id)
	local s = sessions[id]
	if s == nil or s.ready then
		return
	end
	s.ready = true
	local queued = s.pending
	s.pending = {}
	for _, m in ipairs(queued) do
		send(id, m.binary, m.label, m.data, m.protocol)
	end
end

function incomingTextData(id, buf, len, label, protocol)
	local s = sessions[id]
	if s ~= nil and s.reported[label] then
		pushEvent(id, nil, json.encode({ event = "data", label = label, hex = toHex(buf) }), nil)
		return
	end
	send(id, false, label, buf, protocol)
end

function incomingBinaryData(id, buf, len, label, protocol)
	send(id, true, label, buf, protocol)
end
