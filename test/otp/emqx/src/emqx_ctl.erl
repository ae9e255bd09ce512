%% `emqx ctl <args>` of EMQX 4.4 for the commands the provider uses, in EMQX's output format
%% (docs/emqx-4.4-hot-upgrade.md §1.3): `status` and `cluster status`. bin/emqx calls it through nodetool's `rpc`,
%% whose group leader is the caller's: io:format prints on the CLI's stdout, and `rpc_ok` tells
%% nodetool to print nothing more.
-module(emqx_ctl).
-export([run_command/1]).

run_command(["status"]) ->
    {InitStatus, _} = init:get_status(),
    io:format("Node ~p ~s is ~p~n", [node(), emqx_app:get_release(), InitStatus]),
    rpc_ok;
run_command(["cluster", "status"]) ->
    io:format("Cluster status: ~p~n", [#{running_nodes => [node() | nodes()], stopped_nodes => []}]),
    rpc_ok;
run_command(Args) ->
    io:format("Unknown command: ~s~n", [lists:join(" ", Args)]),
    rpc_ok.
