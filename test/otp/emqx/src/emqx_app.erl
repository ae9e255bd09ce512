%% The application callback, and the release version the code reports: after a hot upgrade the
%% relup reloads this module, so get_release/0 answers the new version without a restart.
-module(emqx_app).
-behaviour(application).
-include("emqx_vsn.hrl").
-export([start/2, stop/1, get_release/0]).

start(_Type, _Args) -> emqx_sup:start_link().

stop(_State) -> ok.

get_release() -> ?EMQX_VSN.
