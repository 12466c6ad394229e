#include "frontend.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "_cgo_export.h"

// Per-process state. libretro's callbacks carry no context pointer, so a
// process can drive one core; Go enforces that before tc_attach.
static uint16_t tc_buttons[TC_MAX_PORTS];
static int16_t tc_analog[TC_MAX_PORTS][4];

// Enough for several frames of any core's native rate; grows on demand up to
// tc_audio_max so a core that bursts a second of audio is not cut off.
static int16_t *tc_audio_buf;
static size_t tc_audio_len, tc_audio_cap;
static size_t tc_audio_drops;
static const size_t tc_audio_max = 1 << 20;

tc_core *tc_open(const char *path, char *err, size_t errlen) {
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(err, errlen, "%s", dlerror());
		return NULL;
	}
	tc_core *c = calloc(1, sizeof(*c));
	c->handle = h;
#define SYM(field, name)                                           \
	do {                                                           \
		*(void **)(&c->field) = dlsym(h, name);                    \
		if (!c->field) {                                           \
			snprintf(err, errlen, "missing symbol %s", name);      \
			dlclose(h);                                            \
			free(c);                                               \
			return NULL;                                           \
		}                                                          \
	} while (0)
	SYM(set_environment, "retro_set_environment");
	SYM(set_video_refresh, "retro_set_video_refresh");
	SYM(set_audio_sample, "retro_set_audio_sample");
	SYM(set_audio_sample_batch, "retro_set_audio_sample_batch");
	SYM(set_input_poll, "retro_set_input_poll");
	SYM(set_input_state, "retro_set_input_state");
	SYM(init, "retro_init");
	SYM(deinit, "retro_deinit");
	SYM(api_version, "retro_api_version");
	SYM(get_system_info, "retro_get_system_info");
	SYM(get_system_av_info, "retro_get_system_av_info");
	SYM(set_controller_port_device, "retro_set_controller_port_device");
	SYM(reset, "retro_reset");
	SYM(run, "retro_run");
	SYM(serialize_size, "retro_serialize_size");
	SYM(serialize, "retro_serialize");
	SYM(unserialize, "retro_unserialize");
	SYM(cheat_reset, "retro_cheat_reset");
	SYM(cheat_set, "retro_cheat_set");
	SYM(load_game, "retro_load_game");
	SYM(load_game_special, "retro_load_game_special");
	SYM(unload_game, "retro_unload_game");
	SYM(get_region, "retro_get_region");
	SYM(get_memory_data, "retro_get_memory_data");
	SYM(get_memory_size, "retro_get_memory_size");
#undef SYM
	if (c->api_version() != RETRO_API_VERSION) {
		snprintf(err, errlen, "core implements libretro API %u, want %u", c->api_version(), RETRO_API_VERSION);
		dlclose(h);
		free(c);
		return NULL;
	}
	return c;
}

void tc_close(tc_core *c) {
	dlclose(c->handle);
	free(c);
	free(tc_audio_buf);
	tc_audio_buf = NULL;
	tc_audio_len = tc_audio_cap = tc_audio_drops = 0;
	memset(tc_buttons, 0, sizeof(tc_buttons));
	memset(tc_analog, 0, sizeof(tc_analog));
}

static bool tc_environment(unsigned cmd, void *data) { return goEnvironment(cmd, data); }

static void tc_video_refresh(const void *data, unsigned width, unsigned height, size_t pitch) {
	goVideoRefresh((void *)data, width, height, pitch);
}

static void tc_input_poll(void) {}

static int16_t tc_input_state(unsigned port, unsigned device, unsigned index, unsigned id) {
	if (port >= TC_MAX_PORTS) {
		return 0;
	}
	switch (device & RETRO_DEVICE_MASK) {
	case RETRO_DEVICE_JOYPAD:
		if (id == RETRO_DEVICE_ID_JOYPAD_MASK) {
			return (int16_t)tc_buttons[port];
		}
		return id < 16 ? (tc_buttons[port] >> id) & 1 : 0;
	case RETRO_DEVICE_ANALOG:
		if (index == RETRO_DEVICE_INDEX_ANALOG_BUTTON) {
			return id < 16 && ((tc_buttons[port] >> id) & 1) ? 0x7fff : 0;
		}
		if (index <= RETRO_DEVICE_INDEX_ANALOG_RIGHT && id <= RETRO_DEVICE_ID_ANALOG_Y) {
			return tc_analog[port][index * 2 + id];
		}
		return 0;
	}
	return 0;
}

int16_t tc_query_input(unsigned port, unsigned device, unsigned index, unsigned id) {
	return tc_input_state(port, device, index, id);
}

static bool tc_audio_reserve(size_t frames) {
	size_t need = tc_audio_len + frames * 2;
	if (need <= tc_audio_cap) {
		return true;
	}
	if (need > tc_audio_max) {
		return false;
	}
	size_t cap = tc_audio_cap ? tc_audio_cap : 8192;
	while (cap < need) {
		cap *= 2;
	}
	int16_t *buf = realloc(tc_audio_buf, cap * sizeof(int16_t));
	if (!buf) {
		return false;
	}
	tc_audio_buf = buf;
	tc_audio_cap = cap;
	return true;
}

static size_t tc_audio_sample_batch(const int16_t *data, size_t frames) {
	if (!tc_audio_reserve(frames)) {
		tc_audio_drops += frames;
		return frames;
	}
	memcpy(tc_audio_buf + tc_audio_len, data, frames * 2 * sizeof(int16_t));
	tc_audio_len += frames * 2;
	return frames;
}

static void tc_audio_sample(int16_t left, int16_t right) {
	int16_t frame[2] = {left, right};
	tc_audio_sample_batch(frame, 1);
}

void tc_attach(tc_core *c) {
	c->set_environment(tc_environment);
	c->init();
	c->set_video_refresh(tc_video_refresh);
	c->set_audio_sample(tc_audio_sample);
	c->set_audio_sample_batch(tc_audio_sample_batch);
	c->set_input_poll(tc_input_poll);
	c->set_input_state(tc_input_state);
}

void tc_set_input(unsigned port, uint16_t buttons, const int16_t analog[4]) {
	if (port >= TC_MAX_PORTS) {
		return;
	}
	tc_buttons[port] = buttons;
	memcpy(tc_analog[port], analog, sizeof(tc_analog[port]));
}

const int16_t *tc_audio(size_t *frames) {
	*frames = tc_audio_len / 2;
	return tc_audio_buf;
}

void tc_audio_reset(void) { tc_audio_len = 0; }
size_t tc_audio_dropped(void) { return tc_audio_drops; }

void tc_get_system_info(tc_core *c, struct retro_system_info *info) { c->get_system_info(info); }
void tc_get_system_av_info(tc_core *c, struct retro_system_av_info *info) { c->get_system_av_info(info); }
bool tc_load_game(tc_core *c, const struct retro_game_info *info) { return c->load_game(info); }
void tc_unload_game(tc_core *c) { c->unload_game(); }
void tc_deinit(tc_core *c) { c->deinit(); }
void tc_run(tc_core *c) { c->run(); }
void tc_reset(tc_core *c) { c->reset(); }
void tc_set_controller_port_device(tc_core *c, unsigned port, unsigned device) { c->set_controller_port_device(port, device); }
size_t tc_serialize_size(tc_core *c) { return c->serialize_size(); }
bool tc_serialize(tc_core *c, void *data, size_t size) { return c->serialize(data, size); }
bool tc_unserialize(tc_core *c, const void *data, size_t size) { return c->unserialize(data, size); }
void *tc_get_memory_data(tc_core *c, unsigned id) { return c->get_memory_data(id); }
size_t tc_get_memory_size(tc_core *c, unsigned id) { return c->get_memory_size(id); }

void tc_log_printf(enum retro_log_level level, const char *fmt, ...) {
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	goLog((int)level, msg);
}
