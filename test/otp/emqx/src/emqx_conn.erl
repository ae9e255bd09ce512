%% One client connection: answers each line L with "<version> L" (version from emqx_app, i.e.
%% from the code loaded now). recv waits at most ?RECV_MS and the loop is a fully qualified call,
%% so a hot upgrade switches the answers on the same connection (see emqx_listener).
-module(emqx_conn).
-export([start/1, init/1, loop/1]).

-define(RECV_MS, 300).

start(Sock) -> spawn(?MODULE, init, [Sock]).

init(Sock) ->
    receive go -> ok end,
    ?MODULE:loop(Sock).

loop(Sock) ->
    case gen_tcp:recv(Sock, 0, ?RECV_MS) of
        {ok, Line} ->
            Text = string:trim(Line, trailing, "\r\n"),
            ok = gen_tcp:send(Sock, [emqx_app:get_release(), " ", Text, "\n"]),
            ?MODULE:loop(Sock);
        {error, timeout} ->
            ?MODULE:loop(Sock);
        {error, _Closed} ->
            gen_tcp:close(Sock)
    end.
