// The vista plugin's registration: the exported entry point for VistaModel.
#include "vista_model.h"

CITADEL_REGISTER_PLUGIN(citadel::vista::VistaModel, "vista", "0.1.0")
