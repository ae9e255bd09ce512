#!/usr/bin/env escript
%%! -hidden
%% bin/install_upgrade.escript of the test release: EMQX 4.4's upgrade script as
%% docs/emqx-4.4-hot-upgrade.md §2 describes it (the 4.4.15+ behaviour), written for these tests, driving
%% the real OTP release_handler of the running node over distribution.
%%   install_upgrade.escript <Command> <-name|-sname> <Node> <Cookie> [--no-permanent] [Vsn]
%% Run by bin/emqx with the working directory at the install root. Messages, statuses and exit
%% codes are EMQX's (docs/emqx-4.4-hot-upgrade.md §2.2, §2.4): 1 node down, 2 unpack/uninstall refused, 3 check failed or
%% old_processes, 4 install_release failed, 127 an uncaught exception (escript convention).

-define(TIMEOUT, 300000).
-define(SCRIPTS, ["emqx", "emqx_ctl", "emqx_relx", "nodetool", "install_upgrade.escript"]).

main([Command, NameType, NodeName, Cookie | Args]) ->
    Node = list_to_atom(NodeName),
    connect(NameType, Node, list_to_atom(Cookie)),
    {ok, Root} = file:get_cwd(),
    ok = rpc:call(Node, file, set_cwd, [Root], ?TIMEOUT),
    Opts = parse_arguments(Args),
    case Command of
        "versions" when Args =:= [] -> print_existing_versions(Node);
        "install" -> install(Node, Opts);
        "upgrade" -> install(Node, Opts);
        "downgrade" -> install(Node, Opts);
        "unpack" -> unpack(Node, Opts);
        "uninstall" -> uninstall(Node, Opts)
    end;
main(Args) ->
    io:format("unknown args: ~p~n", [Args]),
    halt(1).

parse_arguments(Args) ->
    lists:foldl(fun("--no-permanent", M) -> M#{permanent => false};
                   (V, M) -> M#{version => hd(string:lexemes(V, "/"))}
                end, #{permanent => true, version => undefined}, Args).

%% A hidden node of our own, then the target (docs/emqx-4.4-hot-upgrade.md §2.1).
connect(NameType, Node, Cookie) ->
    Mode = case NameType of "-sname" -> shortnames; _ -> longnames end,
    [_, Host] = string:split(atom_to_list(Node), "@"),
    Me = list_to_atom("remsh_" ++ hd(string:split(atom_to_list(Node), "@")) ++ "_upgrader_" ++ os:getpid() ++ "@" ++ Host),
    {ok, _} = net_kernel:start([Me, Mode]),
    erlang:set_cookie(Node, Cookie),
    case net_kernel:hidden_connect_node(Node) andalso net_adm:ping(Node) =:= pong of
        true -> ok;
        false ->
            io:format("Node ~p not responding to pings.~n", [Node]),
            halt(1)
    end.

which_releases(Node) ->
    [{V, S} || {_Name, V, _Apps, S} <- rpc:call(Node, release_handler, which_releases, [], ?TIMEOUT)].

current_version(Node) ->
    Rs = which_releases(Node),
    case lists:keyfind(current, 2, Rs) of
        {V, current} -> V;
        false -> element(1, lists:keyfind(permanent, 2, Rs))
    end.

print_existing_versions(Node) ->
    Lines = [io_lib:format("* ~s\t~s~n", [V, S]) || {V, S} <- which_releases(Node)],
    io:format("Installed versions:~n~s~n", [Lines]).

%% Same major.minor only (docs/emqx-4.4-hot-upgrade.md §2.3).
validate_target_version(Node, V) ->
    C = current_version(Node),
    case minor(V) =:= minor(C) of
        true -> ok;
        false ->
            io:format("Cannot upgrade/downgrade to ~s from ~s~n", [V, C]),
            io:format("We only support relup between patch versions~n", []),
            error({relup_not_allowed, unsupported_target_version})
    end.

minor(V) ->
    case re:run(V, "^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\\+[0-9A-Za-z.-]+)?$", [{capture, [1, 2], list}]) of
        {match, MajorMinor} -> MajorMinor;
        nomatch -> error({invalid_semver, V})
    end.

install(Node, #{version := V} = Opts) ->
    validate_target_version(Node, V),
    case unpack_release(Node, V) of
        {ok, V} ->
            io:format("Unpacked successfully: ~p.~n", [V]),
            check_and_install(Node, V),
            maybe_permafy(Node, V, Opts);
        {error, Reason} ->
            io:format("Unpack failed: ~p~n", [Reason]),
            print_existing_versions(Node),
            halt(2);
        {status, old} ->
            io:format("Release ~s is marked old, switching to it.~n", [V]),
            check_and_install(Node, V),
            maybe_permafy(Node, V, Opts);
        {status, unpacked} ->
            io:format("Release ~s is already unpacked, now installing.~n", [V]),
            check_and_install(Node, V),
            maybe_permafy(Node, V, Opts);
        {status, current} ->
            case Opts of
                #{permanent := true} ->
                    io:format("Release ~s is already installed and current, making permanent.~n", [V]),
                    permafy(Node, V);
                _ ->
                    io:format("Release ~s is already installed and current.~n", [V])
            end;
        {status, permanent} ->
            case current_version(Node) of
                V -> io:format("Release ~s is already installed, running and set permanent.~n", [V]);
                C ->
                    io:format("Release ~s is the currently running version.~n", [C]),
                    check_and_install(Node, V),
                    maybe_permafy(Node, V, Opts)
            end
    end.

unpack(Node, #{version := V}) ->
    validate_target_version(Node, V),
    case unpack_release(Node, V) of
        {ok, V} -> io:format("Unpacked successfully: ~p~n", [V]);
        {error, Reason} ->
            io:format("Unpack failed: ~p.~n", [Reason]),
            print_existing_versions(Node),
            halt(2);
        {status, old} -> io:format("Release ~s is marked old.~n", [V]);
        {status, unpacked} -> io:format("Release ~s is already unpacked.~n", [V]);
        {status, current} -> io:format("Release ~s is already installed and current.~n", [V]);
        {status, permanent} -> io:format("Release ~s is already installed and set permanent.~n", [V])
    end.

uninstall(Node, #{version := V}) ->
    {ok, _} = file:copy(filename:join(["releases", current_version(Node), "no_dot_erlang.boot"]), "bin/no_dot_erlang.boot"),
    case proplists:get_value(V, which_releases(Node)) of
        undefined -> io:format("Release ~s is already uninstalled.~n", [V]);
        current -> io:format("Uninstall failed: Release ~s is marked current.~n", [V]), halt(2);
        permanent -> io:format("Uninstall failed: Release ~s is running.~n", [V]), halt(2);
        Status ->
            case Status of
                old -> io:format("Release ~s is marked old, uninstalling it.~n", [V]);
                unpacked -> io:format("Release ~s is marked unpacked, uninstalling it~n", [V])
            end,
            case rpc:call(Node, release_handler, remove_release, [V], ?TIMEOUT) of
                ok -> io:format("Uninstalled Release: ~s~n", [V]);
                {error, Reason} ->
                    io:format("ERROR: release_handler:remove_release failed: ~p~n", [Reason]),
                    halt(3)
            end
    end.

%% The target's status, or unpack it now: repack the zips, find the tarball, link it where
%% release_handler looks, unpack (docs/emqx-4.4-hot-upgrade.md §2.5).
unpack_release(Node, V) ->
    Booted = filelib:is_regular(filename:join(["releases", V, "start.boot"])),
    case proplists:get_value(V, which_releases(Node)) of
        Status when Status =/= undefined, (Status =/= unpacked orelse Booted) ->
            {status, Status};
        _ ->
            unpack_zipballs(V),
            case find_and_link_release_package(V) of
                undefined -> {error, release_package_not_found};
                Package ->
                    io:format("Release ~s not found, attempting to unpack ~s~n", [V, Package]),
                    case rpc:call(Node, release_handler, unpack_release, [V ++ "/emqx"], ?TIMEOUT) of
                        {ok, Vsn} -> {ok, Vsn};
                        {error, _} = E -> E
                    end
            end
    end.

%% Every releases/emqx-*<V>*.zip in sort order, each repacked as releases/emqx-<V>.tar.gz from
%% the content of its emqx/ folder: the last one wins. The untar dirs stay, as EMQX's do; they
%% go to $TMPDIR (the test host's own) rather than /tmp.
unpack_zipballs(V) ->
    Zips = filelib:wildcard("releases/emqx-*" ++ V ++ "*.zip"),
    io:format("unzip ~p~n", [Zips]),
    {ok, Cwd} = file:get_cwd(),
    Tar = filename:join([Cwd, "releases", "emqx-" ++ V ++ ".tar.gz"]),
    Tmp = case os:getenv("TMPDIR") of false -> "/tmp"; "" -> "/tmp"; T -> T end,
    lists:foreach(fun(Zip) ->
        Dir = filename:join(Tmp, "emqx_untar_" ++ integer_to_list(erlang:system_time())),
        ok = filelib:ensure_dir(filename:join(Dir, "x")),
        {ok, _} = file:copy(Zip, filename:join(Dir, "emqx.zip")),
        {ok, _} = zip:unzip(filename:join(Dir, "emqx.zip"), [{cwd, Dir}]),
        try
            ok = file:set_cwd(filename:join(Dir, "emqx")),
            {ok, Files} = file:list_dir("."),
            ok = erl_tar:create(Tar, Files, [compressed])
        after
            ok = file:set_cwd(Cwd)
        end
    end, Zips).

find_and_link_release_package(V) ->
    Link = filename:join(["releases", V, "emqx.tar.gz"]),
    Candidates = [filename:join("releases", "emqx-" ++ V ++ ".tar.gz"),
                  filename:join(["releases", V, "emqx-" ++ V ++ ".tar.gz"]),
                  Link],
    case [F || F <- Candidates, filelib:is_regular(F)] of
        [] -> undefined;
        [Link | _] -> Link;
        [Found | _] ->
            ok = filelib:ensure_dir(Link),
            make_symlink(filename:absname(Found), Link),
            Found
    end.

make_symlink(Target, Link) ->
    case file:make_symlink(Target, Link) of
        ok -> ok;
        {error, eexist} ->
            io:format("symlink ~p already exists, recreate it~n", [Link]),
            ok = file:delete(Link),
            make_symlink(Target, Link);
        {error, Reason} when Reason =:= eperm; Reason =:= enotsup ->
            {ok, _} = file:copy(Target, Link),
            ok
    end.

%% vm.args (the node's, $VMARGS_PATH as bin/emqx sets it) and sys.config (the node's live
%% application environment) of the new release, then check and install (docs/emqx-4.4-hot-upgrade.md §2.6).
check_and_install(Node, V) ->
    Dir = filename:join("releases", V),
    {ok, _} = file:copy(os:getenv("VMARGS_PATH"), filename:join(Dir, "vm.args")),
    Apps = [A || {A, _, _} <- rpc:call(Node, application, which_applications, [], ?TIMEOUT), A =/= kernel, A =/= stdlib],
    Config = [{A, rpc:call(Node, application, get_all_env, [A], ?TIMEOUT)} || A <- Apps],
    ok = file:write_file(filename:join(Dir, "sys.config"), io_lib:format("~p.~n", [Config])),
    case rpc:call(Node, release_handler, check_install_release, [V], ?TIMEOUT) of
        {ok, _Other, _Descr} -> ok;
        {error, Reason} ->
            io:format("ERROR: release_handler:check_install_release failed: ~p.~n", [Reason]),
            halt(3)
    end,
    case rpc:call(Node, release_handler, install_release, [V, [{update_paths, true}]], ?TIMEOUT) of
        {ok, _, _} -> io:format("Installed Release: ~s.~n", [V]);
        {error, {no_such_release, V}} ->
            print_existing_versions(Node),
            io:format("ERROR: Unable to revert to '~s' - not installed.~n", [V]),
            halt(2);
        {error, {old_processes, Mod}} ->
            io:format("ERROR: unable to install '~s' - old processes still running code from module ~p~n", [V, Mod]),
            halt(3);
        {error, Reason2} ->
            io:format("ERROR: release_handler:install_release failed: ~p~n", [Reason2]),
            halt(4)
    end.

maybe_permafy(Node, V, #{permanent := true}) -> permafy(Node, V);
maybe_permafy(_Node, _V, _Opts) -> ok.

%% make_permanent, then the scripts of the new release over bin/, then REL_VSN/ERTS_VSN appended
%% to releases/emqx_vars (docs/emqx-4.4-hot-upgrade.md §2.7).
permafy(Node, V) ->
    ok = rpc:call(Node, release_handler, make_permanent, [V], ?TIMEOUT),
    io:format("Made release permanent: ~p~n", [V]),
    [{ok, _} = file:copy(filename:join("bin", F ++ "-" ++ V), filename:join("bin", F)) || F <- ?SCRIPTS],
    {ok, _} = file:copy(filename:join(["releases", V, "no_dot_erlang.boot"]), "bin/no_dot_erlang.boot"),
    {ok, StartErl} = file:read_file("releases/start_erl.data"),
    [Erts | _] = string:lexemes(binary_to_list(StartErl), " \n"),
    file:write_file("releases/emqx_vars", io_lib:format("REL_VSN=\"~s\"~nERTS_VSN=\"~s\"~n", [V, Erts]), [append]).
