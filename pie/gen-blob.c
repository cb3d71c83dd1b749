/* gen-blob — a build tool: turns a linked pie/ ELF into a C header that
 * holds its bytes.
 *
 *   gen-blob NAME ELF OUT.h OBJECT... -- SYMBOL...
 *
 * Refuses objects with relocations that would make the code depend on its
 * load address (only PC-relative ones are allowed in allocated sections),
 * and an ELF with other than one PT_LOAD at address 0. Writes the segment's
 * memory image (file bytes, then zeros up to its memory size) as
 * pie_NAME_blob[], with PIE_NAME_SIZE and PIE_NAME_OFF_SYMBOL offsets.
 * Runs on the build machine only; every offset read is checked.
 */
#include <ctype.h>
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gb_file {
	const char *path;
	unsigned char *data;
	size_t size;
};

static void gb_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void gb_die(const char *fmt, ...)
{
	va_list ap;

	fputs("gen-blob: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void gb_load(struct gb_file *f, const char *path)
{
	FILE *in = fopen(path, "rb");
	long len;

	if (!in)
		gb_die("%s: %s", path, strerror(errno));
	if (fseek(in, 0, SEEK_END) || (len = ftell(in)) < 0 || fseek(in, 0, SEEK_SET))
		gb_die("%s: cannot size it", path);
	f->path = path;
	f->size = (size_t)len;
	f->data = malloc(f->size ? f->size : 1);
	if (!f->data || fread(f->data, 1, f->size, in) != f->size)
		gb_die("%s: cannot read it", path);
	fclose(in);
}

/* A pointer to @len bytes at @off, or death when they are not in the file. */
static const void *gb_at(const struct gb_file *f, uint64_t off, uint64_t len)
{
	if (off > f->size || len > f->size - off)
		gb_die("%s: %llu bytes at offset %#llx run past the end of the file",
		       f->path, (unsigned long long)len, (unsigned long long)off);
	return f->data + off;
}

static const Elf64_Ehdr *gb_ehdr(const struct gb_file *f)
{
	const Elf64_Ehdr *eh = gb_at(f, 0, sizeof(Elf64_Ehdr));

	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB || eh->e_machine != EM_X86_64)
		gb_die("%s: not a little-endian x86_64 ELF64 file", f->path);
	if (eh->e_shnum && eh->e_shentsize != sizeof(Elf64_Shdr))
		gb_die("%s: unexpected section header size", f->path);
	if (eh->e_phnum && eh->e_phentsize != sizeof(Elf64_Phdr))
		gb_die("%s: unexpected program header size", f->path);
	return eh;
}

static const Elf64_Shdr *gb_shdr(const struct gb_file *f, unsigned int i)
{
	const Elf64_Ehdr *eh = gb_ehdr(f);

	if (i >= eh->e_shnum)
		gb_die("%s: no section %u", f->path, i);
	return gb_at(f, eh->e_shoff + (uint64_t)i * sizeof(Elf64_Shdr), sizeof(Elf64_Shdr));
}

static int gb_pc_relative(unsigned int type)
{
	return type == R_X86_64_PC32 || type == R_X86_64_PLT32 || type == R_X86_64_PC64;
}

static void gb_check_object(const char *path)
{
	struct gb_file f;
	const Elf64_Ehdr *eh;

	gb_load(&f, path);
	eh = gb_ehdr(&f);
	for (unsigned int i = 0; i < eh->e_shnum; i++) {
		const Elf64_Shdr *sh = gb_shdr(&f, i);

		if (sh->sh_type == SHT_REL)
			gb_die("%s: REL relocations are not expected on x86_64", path);
		if (sh->sh_type != SHT_RELA || !sh->sh_size)
			continue;
		if (!(gb_shdr(&f, sh->sh_info)->sh_flags & SHF_ALLOC))
			continue;	/* debug info: never loaded */
		if (sh->sh_size % sizeof(Elf64_Rela))
			gb_die("%s: relocation section %u has a partial entry", path, i);
		const Elf64_Rela *r = gb_at(&f, sh->sh_offset, sh->sh_size);

		for (size_t k = 0; k < sh->sh_size / sizeof(Elf64_Rela); k++)
			if (!gb_pc_relative(ELF64_R_TYPE(r[k].r_info)))
				gb_die("%s: relocation type %u at %#llx depends on the load address "
				       "(use hidden symbols, no pointers in initialised data)",
				       path, (unsigned int)ELF64_R_TYPE(r[k].r_info),
				       (unsigned long long)r[k].r_offset);
	}
	free(f.data);
}

static const Elf64_Phdr *gb_segment(const struct gb_file *f)
{
	const Elf64_Ehdr *eh = gb_ehdr(f);
	const Elf64_Phdr *load = NULL;

	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = gb_at(f, eh->e_phoff + (uint64_t)i * sizeof(*ph), sizeof(*ph));

		if (ph->p_type != PT_LOAD)
			continue;
		if (load || ph->p_vaddr != 0)
			gb_die("%s: want one PT_LOAD at address 0", f->path);
		load = ph;
	}
	if (!load)
		gb_die("%s: no PT_LOAD segment", f->path);
	if (load->p_filesz > load->p_memsz || load->p_memsz > (64u << 20))
		gb_die("%s: implausible segment sizes", f->path);
	gb_at(f, load->p_offset, load->p_filesz);
	return load;
}

/* The value of symbol @name in the ELF's symbol table. */
static uint64_t gb_symbol(const struct gb_file *f, const char *name)
{
	const Elf64_Ehdr *eh = gb_ehdr(f);

	for (unsigned int i = 0; i < eh->e_shnum; i++) {
		const Elf64_Shdr *sh = gb_shdr(f, i);

		if (sh->sh_type != SHT_SYMTAB || sh->sh_entsize != sizeof(Elf64_Sym))
			continue;
		const Elf64_Shdr *strs = gb_shdr(f, sh->sh_link);
		const Elf64_Sym *syms = gb_at(f, sh->sh_offset, sh->sh_size);
		const char *str = gb_at(f, strs->sh_offset, strs->sh_size);

		for (size_t k = 0; k < sh->sh_size / sizeof(Elf64_Sym); k++) {
			uint32_t n = syms[k].st_name;

			if (n < strs->sh_size && strnlen(str + n, strs->sh_size - n) < strs->sh_size - n &&
			    !strcmp(str + n, name) && syms[k].st_shndx != SHN_UNDEF)
				return syms[k].st_value;
		}
	}
	gb_die("%s: no symbol %s", f->path, name);
}

int main(int argc, char **argv)
{
	struct gb_file elf;
	const Elf64_Phdr *seg;
	char upper[64];
	int sep = 0;
	FILE *out;

	for (int i = 4; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			sep = i;
			break;
		}
	if (argc < 5 || !sep || strlen(argv[1]) >= sizeof(upper))
		gb_die("usage: gen-blob NAME ELF OUT.h OBJECT... -- SYMBOL...");
	for (size_t i = 0; argv[1][i]; i++) {
		if (!isalnum((unsigned char)argv[1][i]) && argv[1][i] != '_')
			gb_die("blob name '%s' is not a C identifier", argv[1]);
		upper[i] = (char)toupper((unsigned char)argv[1][i]);
		upper[i + 1] = '\0';
	}
	for (int i = 4; i < sep; i++)
		gb_check_object(argv[i]);
	gb_load(&elf, argv[2]);
	seg = gb_segment(&elf);

	out = fopen(argv[3], "w");
	if (!out)
		gb_die("%s: %s", argv[3], strerror(errno));
	fprintf(out, "/* Generated by pie/gen-blob from %s: do not edit. */\n"
		"#ifndef CRISP_PIE_%s_BLOB_H\n#define CRISP_PIE_%s_BLOB_H\n\n"
		"#define PIE_%s_SIZE %llu\n", argv[1], upper, upper, upper,
		(unsigned long long)seg->p_memsz);
	for (int i = sep + 1; i < argc; i++) {
		uint64_t v = gb_symbol(&elf, argv[i]);

		if (v >= seg->p_memsz)
			gb_die("%s: symbol %s outside the image", argv[2], argv[i]);
		fprintf(out, "#define PIE_%s_OFF_%s %#llx\n", upper, argv[i], (unsigned long long)v);
	}
	fprintf(out, "\nstatic const unsigned char pie_%s_blob[%llu] __attribute__((aligned(16))) = {",
		argv[1], (unsigned long long)seg->p_memsz);
	for (uint64_t i = 0; i < seg->p_memsz; i++) {
		unsigned int b = i < seg->p_filesz ? elf.data[seg->p_offset + i] : 0;

		fprintf(out, "%s0x%02x,", i % 12 ? " " : "\n\t", b);
	}
	fprintf(out, "\n};\n\n#endif\n");
	free(elf.data);
	if (fclose(out))
		gb_die("%s: %s", argv[3], strerror(errno));
	return 0;
}
