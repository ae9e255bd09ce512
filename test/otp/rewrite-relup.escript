#!/usr/bin/env escript
%% Rewrites a release's relup the way EMQX's build does from 4.4.2 on (docs/emqx-4.4-hot-upgrade.md
%% §3.4 and the corrections at its top), so the test releases meet the provider with real files:
%%   - every up path ends with: load emqx_app, load emqx_relup, apply emqx_relup:post_release_upgrade(From, Extra);
%%   - every down path ends with: load emqx_app, apply emqx_relup:post_release_downgrade(To, Extra), then
%%     remove + purge emqx_relup when going to 4.4.0/4.4.1 (which have no such module), else load it;
%%   - `load`/`remove`/`purge`/`apply` instructions for those two modules that systools put elsewhere
%%     in the path are dropped first, so each appears once, at the end;
%%   - the file is written as io_lib:format("~p.", [Relup]): `~p` layout, NO final newline.
%% Usage: rewrite-relup.escript <releases/V/relup>
-mode(compile).

main([File]) ->
    {ok, [{Vsn, Ups, Downs}]} = file:consult(File),
    Relup = {Vsn, [rewrite(up, P) || P <- Ups], [rewrite(down, P) || P <- Downs]},
    ok = file:write_file(File, io_lib:format("~p.", [Relup]));
main(_) ->
    io:format(standard_error, "usage: rewrite-relup.escript <relup file>~n", []),
    halt(2).

rewrite(Direction, {OtherVsn, Descr, Instrs}) ->
    Extra = extra(Direction, Instrs),
    Kept = [I || I <- Instrs, not ours(I)],
    {OtherVsn, Descr, Kept ++ tail(Direction, OtherVsn, Extra)}.

tail(up, From, Extra) ->
    [{load, {emqx_app, brutal_purge, soft_purge}},
     {load, {emqx_relup, brutal_purge, soft_purge}},
     {apply, {emqx_relup, post_release_upgrade, [From, Extra]}}];
tail(down, To, Extra) ->
    Last = case lists:member(To, ["4.4.0", "4.4.1"]) of
               true -> [{remove, {emqx_relup, brutal_purge, brutal_purge}}, {purge, [emqx_relup]}];
               false -> [{load, {emqx_relup, brutal_purge, soft_purge}}]
           end,
    [{load, {emqx_app, brutal_purge, soft_purge}},
     {apply, {emqx_relup, post_release_downgrade, [To, Extra]}} | Last].

%% The Extra argument of an apply already in the path, else undefined (as EMQX's script does).
extra(up, Instrs) -> hd([E || {apply, {emqx_relup, post_release_upgrade, [_, E]}} <- Instrs] ++ [undefined]);
extra(down, Instrs) -> hd([E || {apply, {emqx_relup, post_release_downgrade, [_, E]}} <- Instrs] ++ [undefined]).

ours({load, {M, _, _}}) -> M =:= emqx_app orelse M =:= emqx_relup;
ours({remove, {emqx_relup, _, _}}) -> true;
ours({purge, [emqx_relup]}) -> true;
ours({apply, {emqx_relup, _, _}}) -> true;
ours(_) -> false.
