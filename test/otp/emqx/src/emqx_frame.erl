%% MQTT 3.1.1 packets: parse/1 takes bytes off a buffer, the serializers build what the broker
%% sends, match/2 matches a topic name against a filter with + and # wildcards. Pure functions.
-module(emqx_frame).
-export([parse/1, connack/1, publish/4, puback/1, suback/2, unsuback/1, pingresp/0, match/2]).

%% {ok, Packet, Rest} | more | {error, Reason}.
parse(<<Type:4, Flags:4, Rest/binary>>) ->
    case remaining_length(Rest, 0, 1) of
        {ok, Len, Body0} when byte_size(Body0) >= Len ->
            <<Body:Len/binary, Rest1/binary>> = Body0,
            try decode(Type, Flags, Body) of
                Packet -> {ok, Packet, Rest1}
            catch
                error:_ -> {error, malformed_packet}
            end;
        {ok, _, _} -> more;
        Other -> Other
    end;
parse(<<>>) -> more.

remaining_length(_, _, Mult) when Mult > 128 * 128 * 128 -> {error, malformed_length};
remaining_length(<<1:1, Len:7, Rest/binary>>, Acc, Mult) -> remaining_length(Rest, Acc + Len * Mult, Mult * 128);
remaining_length(<<0:1, Len:7, Rest/binary>>, Acc, Mult) -> {ok, Acc + Len * Mult, Rest};
remaining_length(<<>>, _, _) -> more.

decode(1, 0, <<PLen:16, Proto:PLen/binary, Level:8, Flags:8, KeepAlive:16, Payload/binary>>) ->
    <<User:1, Pass:1, _WillRetain:1, _WillQos:2, Will:1, _Clean:1, _:1>> = <<Flags:8>>,
    {ClientId, P1} = string(Payload),
    P2 = skip_strings(Will * 2, P1),
    P3 = skip_strings(User, P2),
    <<>> = skip_strings(Pass, P3),
    {connect, #{proto => Proto, level => Level, clientid => ClientId, keepalive => KeepAlive}};
decode(3, Flags, Body) ->
    QoS = (Flags bsr 1) band 3,
    {Topic, Rest} = string(Body),
    case QoS of
        0 -> {publish, Topic, 0, undefined, Rest};
        _ -> <<Id:16, Payload/binary>> = Rest, {publish, Topic, QoS, Id, Payload}
    end;
decode(4, 0, <<Id:16>>) -> {puback, Id};
decode(8, 2, <<Id:16, Rest/binary>>) -> {subscribe, Id, filters(Rest, true)};
decode(10, 2, <<Id:16, Rest/binary>>) -> {unsubscribe, Id, filters(Rest, false)};
decode(12, 0, <<>>) -> pingreq;
decode(14, 0, <<>>) -> disconnect;
decode(Type, _, _) -> {unsupported, Type}.

string(<<Len:16, S:Len/binary, Rest/binary>>) -> {S, Rest}.

skip_strings(0, Bin) -> Bin;
skip_strings(N, Bin) -> {_, Rest} = string(Bin), skip_strings(N - 1, Rest).

filters(<<>>, _) -> [];
filters(Bin, WithQoS) ->
    {Filter, Rest} = string(Bin),
    case WithQoS of
        true -> <<_:6, QoS:2, Rest1/binary>> = Rest, [{Filter, QoS} | filters(Rest1, true)];
        false -> [Filter | filters(Rest, false)]
    end.

connack(ReturnCode) -> <<16#20, 2, 0, ReturnCode>>.

publish(Topic, Payload, QoS, Id) ->
    IdBin = case QoS of 0 -> <<>>; _ -> <<Id:16>> end,
    packet(3, QoS bsl 1, [<<(byte_size(Topic)):16>>, Topic, IdBin, Payload]).

puback(Id) -> <<16#40, 2, Id:16>>.
suback(Id, Codes) -> packet(9, 0, [<<Id:16>>, Codes]).
unsuback(Id) -> <<16#B0, 2, Id:16>>.
pingresp() -> <<16#D0, 0>>.

packet(Type, Flags, Body) ->
    Bin = iolist_to_binary(Body),
    [<<Type:4, Flags:4>>, encode_length(byte_size(Bin)), Bin].

encode_length(N) when N < 128 -> <<N>>;
encode_length(N) -> <<1:1, (N rem 128):7, (encode_length(N div 128))/binary>>.

%% match(<<"a/b/c">>, <<"a/+/#">>) -> true.
match(Name, Filter) ->
    words_match(binary:split(Name, <<"/">>, [global]), binary:split(Filter, <<"/">>, [global])).

words_match(_, [<<"#">>]) -> true;
words_match([_ | N], [<<"+">> | F]) -> words_match(N, F);
words_match([W | N], [W | F]) -> words_match(N, F);
words_match([], []) -> true;
words_match(_, _) -> false.
