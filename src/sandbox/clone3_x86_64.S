/* long fb_clone3_call (struct clone_args *ca, size_t size, int (*fn) (void *), void *arg)
 * clone3 whose child runs fn (arg) on ca's stack and exits with its value;
 * returns the child's pid, or -errno. */
	.text
	.globl fb_clone3_call
	.type fb_clone3_call, @function
fb_clone3_call:
	mov %rdx, %r9		/* fn and arg in registers syscall keeps */
	mov %rcx, %r8
	mov $435, %eax		/* SYS_clone3 */
	syscall
	test %rax, %rax
	jz 1f
	ret
1:	xor %ebp, %ebp		/* the child, on its own stack */
	mov %r8, %rdi
	call *%r9
	mov %eax, %edi
	mov $60, %eax		/* SYS_exit */
	syscall
	hlt
	.size fb_clone3_call, .-fb_clone3_call
	.section .note.GNU-stack,"",@progbits
