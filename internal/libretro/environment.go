package libretro

/*
#include <stdlib.h>
#include "frontend.h"

// The log interface's printf lives in frontend.c; its address is handed out.
static retro_log_printf_t tc_log_fn(void) { return tc_log_printf; }
*/
import "C"

import (
	"context"
	"log/slog"
	"unsafe"
)

// Environment commands with no named constant in every libretro.h version.
const (
	envGetInputBitmasks     = 51 | C.RETRO_ENVIRONMENT_EXPERIMENTAL
	envGetAudioVideoEnable  = 47 | C.RETRO_ENVIRONMENT_EXPERIMENTAL
	envGetTargetRefreshRate = 50 | C.RETRO_ENVIRONMENT_EXPERIMENTAL
)

//export goEnvironment
func goEnvironment(cmd C.unsigned, data unsafe.Pointer) C.bool {
	c := active.Load()
	if c == nil {
		return false
	}
	return C.bool(c.environment(uint(cmd), data))
}

//export goVideoRefresh
func goVideoRefresh(data unsafe.Pointer, width, height C.unsigned, pitch C.size_t) {
	c := active.Load()
	if c == nil || c.video == nil {
		return
	}
	if data == nil {
		c.video(Frame{Width: int(width), Height: int(height), Format: c.pixelFormat}, true)
		return
	}
	w, h, p := int(width), int(height), int(pitch)
	if w <= 0 || h <= 0 {
		return
	}
	n := p*(h-1) + w*c.pixelFormat.BytesPerPixel()
	c.video(Frame{
		Data:   unsafe.Slice((*byte)(data), n),
		Width:  w,
		Height: h,
		Pitch:  p,
		Format: c.pixelFormat,
	}, false)
}

//export goLog
func goLog(level C.int, msg *C.char) {
	c := active.Load()
	if c == nil {
		return
	}
	// Cores log per-frame chatter at INFO (mGBA logs every DMA), so only
	// warnings and errors reach the service's log above debug.
	lvl := slog.LevelDebug
	switch level {
	case C.RETRO_LOG_WARN:
		lvl = slog.LevelWarn
	case C.RETRO_LOG_ERROR:
		lvl = slog.LevelError
	}
	c.log.Log(context.Background(), lvl, trimNewline(C.GoString(msg)), "core", c.info.Name)
}

func trimNewline(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}

// environment answers the core's RETRO_ENVIRONMENT_* requests. Returning
// false tells the core the frontend lacks the feature, and cores fall back.
func (c *Core) environment(cmd uint, data unsafe.Pointer) bool {
	switch cmd {
	case C.RETRO_ENVIRONMENT_GET_CAN_DUPE:
		*(*C.bool)(data) = true
	case C.RETRO_ENVIRONMENT_SET_PIXEL_FORMAT:
		f := PixelFormat(*(*C.enum_retro_pixel_format)(data))
		switch f {
		case PixelFormat0RGB1555, PixelFormatRGB565, PixelFormatXRGB8888:
			c.pixelFormat = f
		default:
			return false
		}
	case C.RETRO_ENVIRONMENT_GET_SYSTEM_DIRECTORY, C.RETRO_ENVIRONMENT_GET_CORE_ASSETS_DIRECTORY:
		*(**C.char)(data) = c.systemDir
	case C.RETRO_ENVIRONMENT_GET_SAVE_DIRECTORY:
		*(**C.char)(data) = c.saveDir
	case C.RETRO_ENVIRONMENT_GET_LIBRETRO_PATH:
		*(**C.char)(data) = c.corePath
	case C.RETRO_ENVIRONMENT_GET_LOG_INTERFACE:
		(*C.struct_retro_log_callback)(data).log = C.tc_log_fn()
	case C.RETRO_ENVIRONMENT_GET_CORE_OPTIONS_VERSION:
		*(*C.unsigned)(data) = 2
	case C.RETRO_ENVIRONMENT_SET_VARIABLES:
		c.options.setVariables((*C.struct_retro_variable)(data))
	case C.RETRO_ENVIRONMENT_SET_CORE_OPTIONS:
		c.options.setV1((*C.struct_retro_core_option_definition)(data))
	case C.RETRO_ENVIRONMENT_SET_CORE_OPTIONS_INTL:
		c.options.setV1((*C.struct_retro_core_options_intl)(data).us)
	case C.RETRO_ENVIRONMENT_SET_CORE_OPTIONS_V2:
		c.options.setV2((*C.struct_retro_core_options_v2)(data))
	case C.RETRO_ENVIRONMENT_SET_CORE_OPTIONS_V2_INTL:
		c.options.setV2((*C.struct_retro_core_options_v2_intl)(data).us)
	case C.RETRO_ENVIRONMENT_GET_VARIABLE:
		v := (*C.struct_retro_variable)(data)
		v.value = c.options.get(C.GoString(v.key))
		return v.value != nil
	case C.RETRO_ENVIRONMENT_SET_VARIABLE:
		if data != nil {
			v := (*C.struct_retro_variable)(data)
			c.options.set(C.GoString(v.key), C.GoString(v.value))
		}
	case C.RETRO_ENVIRONMENT_GET_VARIABLE_UPDATE:
		*(*C.bool)(data) = C.bool(c.options.takeUpdated())
	case C.RETRO_ENVIRONMENT_SET_CORE_OPTIONS_DISPLAY:
		// Option visibility matters to a menu; Telecart has none.
	case C.RETRO_ENVIRONMENT_SET_INPUT_DESCRIPTORS:
		c.logInputDescriptors((*C.struct_retro_input_descriptor)(data))
	case C.RETRO_ENVIRONMENT_SET_CONTROLLER_INFO:
		c.controller = controllerInfo((*C.struct_retro_controller_info)(data))
	case C.RETRO_ENVIRONMENT_GET_INPUT_MAX_USERS:
		*(*C.unsigned)(data) = Ports
	case envGetInputBitmasks:
		// Answered with true: tc_input_state serves RETRO_DEVICE_ID_JOYPAD_MASK.
	case C.RETRO_ENVIRONMENT_SET_GEOMETRY:
		c.av.Geometry = geometry((*C.struct_retro_game_geometry)(data))
		c.avChanged = true
	case C.RETRO_ENVIRONMENT_SET_SYSTEM_AV_INFO:
		c.av = avInfo((*C.struct_retro_system_av_info)(data))
		c.avChanged = true
	case envGetAudioVideoEnable:
		*(*C.int)(data) = 3 // video and audio both wanted
	case envGetTargetRefreshRate:
		*(*C.float)(data) = C.float(c.av.FPS)
	case C.RETRO_ENVIRONMENT_GET_LANGUAGE:
		*(*C.unsigned)(data) = C.RETRO_LANGUAGE_ENGLISH
	case C.RETRO_ENVIRONMENT_SET_MESSAGE:
		m := (*C.struct_retro_message)(data)
		c.log.Info(C.GoString(m.msg), "core", c.info.Name)
	case C.RETRO_ENVIRONMENT_SET_MESSAGE_EXT:
		m := (*C.struct_retro_message_ext)(data)
		c.log.Info(C.GoString(m.msg), "core", c.info.Name)
	case C.RETRO_ENVIRONMENT_SHUTDOWN:
		c.shutdown = true
	case C.RETRO_ENVIRONMENT_SET_PERFORMANCE_LEVEL,
		C.RETRO_ENVIRONMENT_SET_SUPPORT_NO_GAME,
		C.RETRO_ENVIRONMENT_SET_SERIALIZATION_QUIRKS,
		C.RETRO_ENVIRONMENT_SET_SUBSYSTEM_INFO,
		C.RETRO_ENVIRONMENT_SET_MEMORY_MAPS,
		C.RETRO_ENVIRONMENT_SET_SUPPORT_ACHIEVEMENTS,
		C.RETRO_ENVIRONMENT_SET_CONTENT_INFO_OVERRIDE:
		// Accepted: informational, or only about features Telecart does not use.
	default:
		c.log.Debug("libretro: unsupported environment call", "cmd", cmd&^C.RETRO_ENVIRONMENT_EXPERIMENTAL, "experimental", cmd&C.RETRO_ENVIRONMENT_EXPERIMENTAL != 0)
		return false
	}
	return true
}

func (c *Core) logInputDescriptors(d *C.struct_retro_input_descriptor) {
	if d == nil || !c.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	for ; d.description != nil; d = (*C.struct_retro_input_descriptor)(unsafe.Add(unsafe.Pointer(d), unsafe.Sizeof(*d))) {
		c.log.Debug("libretro: input", "port", d.port, "device", d.device, "id", d.id, "name", C.GoString(d.description))
	}
}

// controllerPort lists the device types a core accepts on one port.
type controllerPort []controllerType

type controllerType struct {
	name string
	id   uint
}

// joypad picks the port's joypad device: the plain one when offered,
// else the first subclass of it.
func (p controllerPort) joypad() (uint, bool) {
	for _, t := range p {
		if t.id == C.RETRO_DEVICE_JOYPAD {
			return t.id, true
		}
	}
	for _, t := range p {
		if t.id&C.RETRO_DEVICE_MASK == C.RETRO_DEVICE_JOYPAD {
			return t.id, true
		}
	}
	return 0, false
}

func controllerInfo(info *C.struct_retro_controller_info) []controllerPort {
	var ports []controllerPort
	for ; info != nil && info.types != nil; info = (*C.struct_retro_controller_info)(unsafe.Add(unsafe.Pointer(info), unsafe.Sizeof(*info))) {
		types := unsafe.Slice(info.types, int(info.num_types))
		port := make(controllerPort, 0, len(types))
		for _, t := range types {
			port = append(port, controllerType{name: C.GoString(t.desc), id: uint(t.id)})
		}
		ports = append(ports, port)
	}
	return ports
}
