#!/bin/sh
# Final touches on a sandbox root filesystem (argument: its path): the working directory the
# seed model expects, and no package caches (smaller image, faster container start).
set -eu
root=$1
mkdir -p "$root/app"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
       "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/*
# vim-tiny installs only `vi` and `vim.tiny`; models type `vim`.
[ -e "$root/usr/bin/vim" ] || ln -s vim.tiny "$root/usr/bin/vim"
