# What `cmake --install` lays out is exactly what the container image holds
# (Containerfile copies the installed tree under /usr):
#
#   bin/handoff-watcher                 the per-node daemon
#   lib/cni/handoff-cni                 the CNI plugin, next to Debian's loopback
#                                       and host-local in the image's /usr/lib/cni
#   lib/handoff/install-cni             the init container: copies plugins onto the
#                                       host's /opt/cni/bin, never over a newer copy
#   share/handoff/10-handoff.conflist   the network configuration the ConfigMap
#                                       ships (test/deploy checks they agree)
#
# Fixed relative paths rather than GNUInstallDirs: Debian's multiarch LIBDIR
# (lib/x86_64-linux-gnu) is not where CNI plugins live.
install(TARGETS handoff-watcher RUNTIME DESTINATION bin)
install(TARGETS handoff-cni RUNTIME DESTINATION lib/cni)
install(PROGRAMS ${CMAKE_SOURCE_DIR}/cni/install-cni.sh DESTINATION lib/handoff RENAME install-cni)
install(FILES ${CMAKE_SOURCE_DIR}/cni/10-handoff.conflist DESTINATION share/handoff)
