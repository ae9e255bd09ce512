%% `emqx ctl <args>` of EMQX 4.4 for the commands the provider reads, in EMQX's output formats
%% (docs/emqx-4.4-observability.md §2), with numbers from this node: `status`, `cluster status`,
%% `broker`, `broker stats`, `listeners`, `plugins list|load|unload`. bin/emqx calls it through
%% nodetool's `rpc`, whose group leader is the caller's: io:format prints on the CLI's stdout, and
%% `rpc_ok` tells nodetool to print nothing more.
-module(emqx_ctl).
-export([run_command/1]).

run_command(["status"]) ->
    {InitStatus, _} = init:get_status(),
    io:format("Node ~p ~s is ~p~n", [node(), emqx_app:get_release(), InitStatus]),
    rpc_ok;
run_command(["cluster", "status"]) ->
    io:format("Cluster status: ~p~n", [#{running_nodes => [node() | nodes()], stopped_nodes => []}]),
    rpc_ok;
run_command(["broker"]) ->
    {WallMs, _} = erlang:statistics(wall_clock),
    {{Y, Mo, D}, {H, Mi, S}} = calendar:local_time(),
    Lines = [{sysdescr, "EMQ X Broker"},
             {version, emqx_app:get_release()},
             {uptime, uptime(WallMs div 1000)},
             {datetime, io_lib:format("~4..0w-~2..0w-~2..0w ~2..0w:~2..0w:~2..0w", [Y, Mo, D, H, Mi, S])}],
    [io:format("~-10s: ~s~n", [K, V]) || {K, V} <- Lines],
    rpc_ok;
run_command(["broker", "stats"]) ->
    [io:format("~-30s: ~w~n", [K, V]) || {K, V} <- emqx_cm:stats()],
    rpc_ok;
run_command(["listeners"]) ->
    io:format("~s~n", ["mqtt:tcp:external"]),
    io:format("  ~-16s: ~s~n", [listen_on, emqx_listener:listen_on()]),
    {ok, MaxConns} = application:get_env(emqx, max_conns),
    Info = [{acceptors, 1}, {max_conns, MaxConns}, {current_conn, ets:info(emqx_conns, size)},
            {shutdown_count, emqx_cm:shutdown_counts()}],
    [io:format("  ~-16s: ~w~n", [K, V]) || {K, V} <- Info],
    rpc_ok;
run_command(["plugins", "list"]) ->
    {ok, Plugins} = application:get_env(emqx, plugins),
    [io:format("Plugin(~s, description=~s, active=~s)~n", [N, D, A]) || {N, D, A} <- Plugins],
    rpc_ok;
run_command(["plugins", Op, Name]) when Op =:= "load"; Op =:= "unload" ->
    {ok, Plugins} = application:get_env(emqx, plugins),
    Want = Op =:= "load",
    case lists:keyfind(list_to_atom(Name), 1, Plugins) of
        false ->
            io:format("~s plugin ~s error: ~p.~n", [capitalized(Op), Name, not_found]);
        {_, _, Want} ->
            io:format("~s plugin ~s error: ~p.~n", [capitalized(Op), Name, case Want of true -> already_started; false -> not_started end]);
        {N, D, _} ->
            application:set_env(emqx, plugins, lists:keyreplace(N, 1, Plugins, {N, D, Want})),
            io:format("Plugin ~s ~sed successfully.~n", [Name, Op])
    end,
    rpc_ok;
run_command(Args) ->
    io:format("Unknown command: ~s~n", [lists:join(" ", Args)]),
    rpc_ok.

capitalized([C | Rest]) -> [C - 32 | Rest].

%% EMQX's uptime text: "3 seconds", "2 minutes, 3 seconds", "1 hours, 2 minutes, 3 seconds",
%% "4 days,1 hours, 2 minutes, 3 seconds" (no space after "days," in 4.4).
uptime(Secs) when Secs < 60 -> io_lib:format("~w seconds", [Secs]);
uptime(Secs) -> [minutes(Secs div 60), io_lib:format("~w seconds", [Secs rem 60])].

minutes(M) when M < 60 -> io_lib:format("~w minutes, ", [M]);
minutes(M) -> [hours(M div 60), io_lib:format("~w minutes, ", [M rem 60])].

hours(H) when H < 24 -> io_lib:format("~w hours, ", [H]);
hours(H) -> [io_lib:format("~w days,", [H div 24]), io_lib:format("~w hours, ", [H rem 24])].
