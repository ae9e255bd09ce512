%% The module EMQX's relups call after every hot upgrade or downgrade from 4.4.2 on (EMQX's build
%% appends `{apply, {emqx_relup, post_release_upgrade, [FromVsn, Extra]}}` to every relup path, see
%% docs/emqx-4.4-hot-upgrade.md §3.4). Like EMQX's, it exists from 4.4.2 on: test/otp/build.sh
%% leaves it out of older builds, and a downgrade to 4.4.0/4.4.1 removes it.
%% Here it records the last call, so tests can see that release_handler really ran it.
-module(emqx_relup).
-export([post_release_upgrade/2, post_release_downgrade/2]).

post_release_upgrade(FromVsn, _Extra) ->
    application:set_env(emqx, last_relup_apply, {upgraded_from, FromVsn}),
    ok.

post_release_downgrade(ToVsn, _Extra) ->
    application:set_env(emqx, last_relup_apply, {downgraded_to, ToVsn}),
    ok.
