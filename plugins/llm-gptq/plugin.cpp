// The llm-gptq plugin's registration: the exported entry point for LlmModel.
#include "llm_model.h"

CITADEL_REGISTER_PLUGIN(citadel::llm::LlmModel, "llm-gptq", "0.1.0")
