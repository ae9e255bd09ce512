%% The connection manager: owns the node's tables, watches every connection process and refreshes
%% the `broker stats` numbers on a 1 s tick, as EMQX 4.4 does (docs/emqx-4.4-observability.md §2.3, §2.4).
%% Tables (public, named, owned by this process):
%%   emqx_conns     {Pid, ClientId | undefined}: every live connection process (`current_conn`);
%%                  ClientId is set once CONNACK was sent (`live_connections.count`).
%%   emqx_subs      bag {Filter, Pid, QoS}: subscriptions.
%%   emqx_stats     {Key, Value}: the numbers of the last tick, with their `.max` partners.
%%   emqx_shutdowns {Reason, Count}: connection exits per reason (the listener's `shutdown_count`).
%% The loop waits at most ?TICK_MS and re-enters through a fully qualified call, so a hot upgrade
%% moves it to new code within a tick (appup: soft_purge).
-module(emqx_cm).
-export([start_link/0, init/1, loop/1, register_conn/1, stats/0, shutdown_counts/0]).

-define(TICK_MS, 1000).
%% The keys of `emqx ctl broker stats` (each also has a `.max`).
-define(KEYS, ["connections.count", "live_connections.count", "channels.count", "sessions.count",
               "topics.count", "suboptions.count", "subscribers.count", "subscriptions.count",
               "subscriptions.shared.count", "routes.count", "retained.count"]).

start_link() -> proc_lib:start_link(?MODULE, init, [self()]).

init(Parent) ->
    register(?MODULE, self()),
    Tabs = [{emqx_conns, set}, {emqx_subs, bag}, {emqx_stats, set}, {emqx_shutdowns, set}],
    [ets:new(T, [Type, public, named_table, {write_concurrency, true}]) || {T, Type} <- Tabs],
    [ets:insert(emqx_stats, [{K, 0}, {K ++ ".max", 0}]) || K <- ?KEYS],
    proc_lib:init_ack(Parent, {ok, self()}),
    ?MODULE:loop(#{next_tick => now_ms() + ?TICK_MS}).

%% Called by each connection process when it starts.
register_conn(Pid) ->
    ets:insert(emqx_conns, {Pid, undefined}),
    ?MODULE ! {watch, Pid},
    ok.

loop(#{next_tick := Next} = State) ->
    Wait = max(0, Next - now_ms()),
    receive
        {watch, Pid} ->
            erlang:monitor(process, Pid),
            ?MODULE:loop(State);
        {'DOWN', _Ref, process, Pid, Reason} ->
            ets:delete(emqx_conns, Pid),
            ets:match_delete(emqx_subs, {'_', Pid, '_'}),
            count_shutdown(Reason),
            ?MODULE:loop(State)
    after Wait ->
        refresh(),
        ?MODULE:loop(State#{next_tick => now_ms() + ?TICK_MS})
    end.

%% As esockd counts them: a clean exit is not counted, {shutdown, R} and other reasons are.
count_shutdown(normal) -> ok;
count_shutdown(shutdown) -> ok;
count_shutdown({shutdown, Reason}) when is_atom(Reason) -> bump(Reason);
count_shutdown(Reason) when is_atom(Reason) -> bump(Reason);
count_shutdown(_Other) -> bump(error).

bump(Reason) -> ets:update_counter(emqx_shutdowns, Reason, 1, {Reason, 0}).

refresh() ->
    Live = ets:select_count(emqx_conns, [{{'_', '$1'}, [{'=/=', '$1', undefined}], [true]}]),
    Subs = ets:tab2list(emqx_subs),
    Topics = length(lists:usort([F || {F, _, _} <- Subs])),
    Subscribers = length(lists:usort([P || {_, P, _} <- Subs])),
    Values = #{"connections.count" => Live, "live_connections.count" => Live, "channels.count" => Live,
               "sessions.count" => Live, "topics.count" => Topics, "suboptions.count" => length(Subs),
               "subscribers.count" => Subscribers, "subscriptions.count" => length(Subs),
               "subscriptions.shared.count" => 0, "routes.count" => Topics, "retained.count" => 0},
    maps:foreach(fun(K, V) ->
        [{_, Max}] = ets:lookup(emqx_stats, K ++ ".max"),
        ets:insert(emqx_stats, [{K, V}, {K ++ ".max", max(Max, V)}])
    end, Values).

%% [{Key, Value}] sorted by key, as `broker stats` prints them.
stats() -> lists:sort(ets:tab2list(emqx_stats)).

%% [{Reason, Count}] sorted, as esockd reports `shutdown_count`.
shutdown_counts() -> lists:sort(ets:tab2list(emqx_shutdowns)).

now_ms() -> erlang:monotonic_time(millisecond).
