%% Supervises the connection manager (tables, stats tick) and the listener (accepts connections).
-module(emqx_sup).
-behaviour(supervisor).
-export([start_link/0, init/1]).

start_link() -> supervisor:start_link({local, ?MODULE}, ?MODULE, []).

init([]) ->
    Cm = #{id => emqx_cm, start => {emqx_cm, start_link, []}, type => worker},
    Listener = #{id => emqx_listener, start => {emqx_listener, start_link, []}, type => worker},
    {ok, {#{strategy => one_for_one, intensity => 5, period => 10}, [Cm, Listener]}}.
