/* The first instruction: the VMM enters here at CPL 3 with RSP at the top of the stack and RDI = mailbox. */
    .section .text.start, "ax"
    .globl _start
    .type _start, @function
_start:
    xor %ebp, %ebp
    and $-16, %rsp
    call snapfn_main
    ud2
    .section .note.GNU-stack, "", @progbits
