%% Supervises the listener (which owns the listening socket and accepts connections).
-module(emqx_sup).
-behaviour(supervisor).
-export([start_link/0, init/1]).

start_link() -> supervisor:start_link({local, ?MODULE}, ?MODULE, []).

init([]) ->
    Listener = #{id => emqx_listener, start => {emqx_listener, start_link, []}, type => worker},
    {ok, {#{strategy => one_for_one, intensity => 5, period => 10}, [Listener]}}.
