%% `emqx ctl <args>` as EMQX 4.4's emqx_ctl answers EMQX's real nodetool (docs/emqx-4.4-hot-upgrade.md
%% §1.3): bin/emqx runs `nodetool rpc_infinity emqx_ctl run_command <args>` (4.4.4+; the older
%% bin/emqx_ctl runs `nodetool rpc`), whose group leader is the CLI's, so io:format prints on the
%% CLI's stdout; nodetool exits 0 only when the call returns `ok`. Replaces test/otp's emqx_ctl
%% (which answers relx's nodetool) in the packages test/upstream/build.sh builds.
-module(emqx_ctl).
-export([run_command/1]).

run_command(["status"]) ->
    {InitStatus, _} = init:get_status(),
    {ok, Vsn} = application:get_key(emqx, vsn),
    io:format("Node ~p ~s is ~p~n", [node(), Vsn, InitStatus]),
    ok;
run_command(["cluster", "status"]) ->
    io:format("Cluster status: ~p~n", [#{running_nodes => [node() | nodes()], stopped_nodes => []}]),
    ok;
run_command(_Args) ->
    Line = lists:duplicate(110, $-),
    io:format("Usage: emqx_ctl~n~s~n", [Line]),
    usage([{"status", "Show broker status"}]),
    io:format("~s~n", [Line]),
    usage([{"cluster join <Node>", "Join the cluster"},
           {"cluster leave", "Leave the cluster"},
           {"cluster force-leave <Node>", "Force the node leave from cluster"},
           {"cluster status", "Cluster status"}]),
    {error, cmd_not_found}.

usage(Commands) ->
    [io:format("~-70s# ~s~n", [Cmd, Desc]) || {Cmd, Desc} <- Commands],
    ok.
