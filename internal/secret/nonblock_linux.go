package secret

import "syscall"

// nonBlock keeps opening a FIFO from hanging; ReadFile then refuses it.
const nonBlock = syscall.O_NONBLOCK
