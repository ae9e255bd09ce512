%% Listens on the {ip, port} of the application env and spawns one emqx_conn per client (the MQTT
%% listener `mqtt:tcp:external` of `emqx ctl listeners`).
%% Code that survives a hot upgrade: accept never blocks for more than ?ACCEPT_MS, and every
%% iteration is a fully qualified call, so the process moves to the newly loaded code within
%% ?ACCEPT_MS and the old code can be purged (appup: soft_purge).
-module(emqx_listener).
-export([start_link/0, init/1, accept_loop/1, listen_on/0]).

-define(ACCEPT_MS, 300).

start_link() -> proc_lib:start_link(?MODULE, init, [self()]).

init(Parent) ->
    register(?MODULE, self()),
    {ok, Ip} = application:get_env(emqx, ip),
    {ok, Port} = application:get_env(emqx, port),
    Opts = [binary, {ip, Ip}, {packet, raw}, {active, false}, {reuseaddr, true}, {nodelay, true}],
    case gen_tcp:listen(Port, Opts) of
        {ok, LSock} ->
            proc_lib:init_ack(Parent, {ok, self()}),
            ?MODULE:accept_loop(LSock);
        {error, Reason} ->
            proc_lib:init_ack(Parent, {error, {listen, Ip, Port, Reason}})
    end.

accept_loop(LSock) ->
    case gen_tcp:accept(LSock, ?ACCEPT_MS) of
        {ok, Sock} ->
            Pid = emqx_conn:start(Sock),
            ok = gen_tcp:controlling_process(Sock, Pid),
            Pid ! go;
        {error, timeout} ->
            ok;
        {error, Reason} ->
            exit({accept, Reason})
    end,
    ?MODULE:accept_loop(LSock).

%% "127.0.0.70:18830", as EMQX prints listen_on.
listen_on() ->
    {ok, Ip} = application:get_env(emqx, ip),
    {ok, Port} = application:get_env(emqx, port),
    inet:ntoa(Ip) ++ ":" ++ integer_to_list(Port).
