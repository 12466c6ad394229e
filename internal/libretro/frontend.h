// The C half of the libretro frontend: dlopen'd entry points, and the
// callbacks a core calls many times per frame (input, audio), kept in C so
// that a frame costs one cgo call instead of hundreds.
#ifndef TELECART_LIBRETRO_FRONTEND_H
#define TELECART_LIBRETRO_FRONTEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libretro.h>

#define TC_MAX_PORTS 4

typedef struct tc_core {
	void *handle;
	void (*set_environment)(retro_environment_t);
	void (*set_video_refresh)(retro_video_refresh_t);
	void (*set_audio_sample)(retro_audio_sample_t);
	void (*set_audio_sample_batch)(retro_audio_sample_batch_t);
	void (*set_input_poll)(retro_input_poll_t);
	void (*set_input_state)(retro_input_state_t);
	void (*init)(void);
	void (*deinit)(void);
	unsigned (*api_version)(void);
	void (*get_system_info)(struct retro_system_info *);
	void (*get_system_av_info)(struct retro_system_av_info *);
	void (*set_controller_port_device)(unsigned, unsigned);
	void (*reset)(void);
	void (*run)(void);
	size_t (*serialize_size)(void);
	bool (*serialize)(void *, size_t);
	bool (*unserialize)(const void *, size_t);
	void (*cheat_reset)(void);
	void (*cheat_set)(unsigned, bool, const char *);
	bool (*load_game)(const struct retro_game_info *);
	bool (*load_game_special)(unsigned, const struct retro_game_info *, size_t);
	void (*unload_game)(void);
	unsigned (*get_region)(void);
	void *(*get_memory_data)(unsigned);
	size_t (*get_memory_size)(unsigned);
} tc_core;

// tc_open loads the core at path and resolves every retro_* symbol. On
// failure it returns NULL and writes a message to err.
tc_core *tc_open(const char *path, char *err, size_t errlen);
void tc_close(tc_core *c);

// tc_attach installs the frontend callbacks and calls retro_init.
void tc_attach(tc_core *c);

// The input state the core reads during the next retro_run.
void tc_set_input(unsigned port, uint16_t buttons, const int16_t analog[4]);

// tc_query_input answers as the core's input_state callback does.
int16_t tc_query_input(unsigned port, unsigned device, unsigned index, unsigned id);

// Audio produced since the last tc_audio_reset, as interleaved stereo frames.
const int16_t *tc_audio(size_t *frames);
void tc_audio_reset(void);
size_t tc_audio_dropped(void);

// Thin wrappers: cgo cannot call C function pointers directly.
void tc_get_system_info(tc_core *c, struct retro_system_info *info);
void tc_get_system_av_info(tc_core *c, struct retro_system_av_info *info);
bool tc_load_game(tc_core *c, const struct retro_game_info *info);
void tc_unload_game(tc_core *c);
void tc_deinit(tc_core *c);
void tc_run(tc_core *c);
void tc_reset(tc_core *c);
void tc_set_controller_port_device(tc_core *c, unsigned port, unsigned device);
size_t tc_serialize_size(tc_core *c);
bool tc_serialize(tc_core *c, void *data, size_t size);
bool tc_unserialize(tc_core *c, const void *data, size_t size);
void *tc_get_memory_data(tc_core *c, unsigned id);
size_t tc_get_memory_size(tc_core *c, unsigned id);

// tc_log_printf is the retro_log_printf_t handed to cores: it formats the
// message and passes it to Go.
void tc_log_printf(enum retro_log_level level, const char *fmt, ...);

#endif
