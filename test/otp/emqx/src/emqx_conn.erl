%% One MQTT client connection (one process per connection, as in EMQX). Each message it delivers
%% has the version of the code this process runs prefixed to its payload ("4.4.2 <payload>"), so a
%% client sees when its own connection process moved to new code.
%% Code that survives a hot upgrade (docs/emqx-4.4-observability.md §5): the receive waits at most
%% ?WAKE_MS and every iteration re-enters through a fully qualified call (?MODULE:loop/1), so an
%% idle connection moves to newly loaded code within ?WAKE_MS and a soft_purge finds no process
%% left in old code. A brutal_purge right after the load (the bad test release) kills them all.
-module(emqx_conn).
-include("emqx_vsn.hrl").
-export([start/1, init/1, loop/1]).

-define(WAKE_MS, 300).

start(Sock) -> spawn(?MODULE, init, [Sock]).

init(Sock) ->
    receive go -> ok end,
    ok = emqx_cm:register_conn(self()),
    _ = inet:setopts(Sock, [{active, once}]),
    ?MODULE:loop(#{sock => Sock, buf => <<>>, clientid => undefined, keepalive => 0,
                   last_recv => now_ms(), next_id => 1}).

loop(#{sock := Sock} = S) ->
    receive
        {tcp, Sock, Data} ->
            _ = inet:setopts(Sock, [{active, once}]),
            #{buf := Buf} = S,
            ?MODULE:loop(handle_data(S#{buf := <<Buf/binary, Data/binary>>, last_recv := now_ms()}));
        {tcp_closed, Sock} ->
            exit({shutdown, closed});
        {tcp_error, Sock, Reason} ->
            exit({shutdown, Reason});
        {deliver, Topic, Payload, QoS} ->
            ?MODULE:loop(deliver(Topic, Payload, QoS, S))
    after ?WAKE_MS ->
        ?MODULE:loop(check_keepalive(S))
    end.

handle_data(#{buf := Buf} = S) ->
    case emqx_frame:parse(Buf) of
        more -> S;
        {ok, Packet, Rest} -> handle_data(handle_packet(Packet, S#{buf := Rest}));
        {error, Reason} -> stop(Reason, S)
    end.

handle_packet({connect, #{level := Level}}, S) when Level =/= 3, Level =/= 4 ->
    send(emqx_frame:connack(1), S),
    stop(unsupported_protocol_version, S);
handle_packet({connect, #{clientid := Id0, keepalive := KeepAlive}}, #{clientid := undefined} = S) ->
    Id = case Id0 of <<>> -> list_to_binary(pid_to_list(self())); _ -> Id0 end,
    ets:insert(emqx_conns, {self(), Id}),
    send(emqx_frame:connack(0), S),
    S#{clientid := Id, keepalive := KeepAlive};
handle_packet(_Packet, #{clientid := undefined} = S) ->
    stop(not_connected, S);
handle_packet({connect, _}, S) ->
    stop(protocol_error, S);
handle_packet({publish, _Topic, 2, _Id, _Payload}, S) ->
    stop(qos2_not_supported, S);
handle_packet({publish, Topic, QoS, Id, Payload}, S) ->
    [Pid ! {deliver, Topic, Payload, min(QoS, SubQoS)}
     || {Filter, Pid, SubQoS} <- ets:tab2list(emqx_subs), emqx_frame:match(Topic, Filter)],
    QoS =:= 1 andalso send(emqx_frame:puback(Id), S),
    S;
handle_packet({puback, _Id}, S) ->
    S;
handle_packet({subscribe, Id, Filters}, S) ->
    Codes = [begin
                 ets:match_delete(emqx_subs, {Filter, self(), '_'}),
                 ets:insert(emqx_subs, {Filter, self(), min(QoS, 1)}),
                 min(QoS, 1)
             end || {Filter, QoS} <- Filters],
    send(emqx_frame:suback(Id, Codes), S),
    S;
handle_packet({unsubscribe, Id, Filters}, S) ->
    [ets:match_delete(emqx_subs, {Filter, self(), '_'}) || Filter <- Filters],
    send(emqx_frame:unsuback(Id), S),
    S;
handle_packet(pingreq, S) ->
    send(emqx_frame:pingresp(), S),
    S;
handle_packet(disconnect, #{sock := Sock}) ->
    gen_tcp:close(Sock),
    exit(normal);
handle_packet({unsupported, Type}, S) ->
    stop({unsupported_packet, Type}, S).

deliver(Topic, Payload, QoS, #{next_id := Id} = S) ->
    Tagged = <<(list_to_binary(version()))/binary, " ", Payload/binary>>,
    send(emqx_frame:publish(Topic, Tagged, QoS, Id), S),
    S#{next_id := Id rem 65535 + 1}.

%% MQTT 3.1.1, section 3.1.2.10: no packet within 1.5 x keepalive closes the connection.
check_keepalive(#{keepalive := K, last_recv := Last} = S) when K > 0 ->
    case now_ms() - Last > K * 1500 of
        true -> stop(keepalive_timeout, S);
        false -> S
    end;
check_keepalive(S) -> S.

send(Data, #{sock := Sock} = S) ->
    case gen_tcp:send(Sock, Data) of
        ok -> true;
        {error, _} -> stop(closed, S)
    end.

stop(Reason, #{sock := Sock}) ->
    gen_tcp:close(Sock),
    exit({shutdown, Reason}).

%% The version of the code this process runs now.
version() -> ?EMQX_VSN.

now_ms() -> erlang:monotonic_time(millisecond).
