%% The module EMQX 4.4.2+ relups call after loading new code (the tag's inject-relup.escript appends
%% `{apply, {emqx_relup, post_release_upgrade | post_release_downgrade, [Vsn, Extra]}}` to every
%% relup, docs/emqx-4.4-hot-upgrade.md §3.4). EMQX's own does version-specific fix-ups; this
%% stand-in records the call in the application env, so a test can see the relup ran it.
-module(emqx_relup).
-export([post_release_upgrade/2, post_release_downgrade/2]).

post_release_upgrade(FromRelVsn, _Extra) ->
    application:set_env(emqx, last_relup, {upgrade, FromRelVsn}),
    ok.

post_release_downgrade(ToRelVsn, _Extra) ->
    application:set_env(emqx, last_relup, {downgrade, ToRelVsn}),
    ok.
